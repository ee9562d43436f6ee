/**
 * A ModelRunner that batches: each `infer` call queues one item, and the
 * batcher concatenates the items of concurrent calls into one
 * [n, ...itemDims] tensor for a single session run, then hands each caller
 * its own slice of the outputs. The pipeline's detector, landmark and
 * embedder runners are built this way (see pipeline/session.ts). Items given
 * as image regions go to the session as they are, when it can make their
 * inputs where the model runs (an inference worker), and are made into
 * inputs by `makeInput` otherwise.
 */
import { FacerecError } from '../errors.js';
import type { ModelBatchingConfig } from '../config/schema.js';
import {
  isRegionItem,
  regionItemProblem,
  runItems,
  splitOutputs,
  type InferenceSession,
  type InferOptions,
  type ItemOutputs,
  type MakeInput,
  type ModelItem,
  type ModelRunner,
} from '../pipeline/session.js';
import { createBatcher, type BatchInfo, type Clock } from './batcher.js';

export interface BatchedRunnerOptions extends ModelBatchingConfig {
  readonly maxInflightBatches: number;
  readonly preferredBatchSizes?: readonly number[];
  /**
   * Makes region items into inputs: for a session that cannot (see
   * pipeline/session.ts), and for regions over MAX_BATCHED_REGION_BYTES.
   */
  readonly makeInput?: MakeInput;
  onBatch?(info: BatchInfo): void;
  clock?: Clock;
}

export interface BatchedInferOptions extends InferOptions {
  /** Opaque per-request value passed back in BatchInfo.contexts (e.g. a span to link). */
  readonly context?: unknown;
}

export interface BatchedRunnerStats {
  readonly queueDepth: number;
  readonly inflightCount: number;
  readonly batchesRun: number;
  readonly itemsRun: number;
}

export interface BatchedRunner extends ModelRunner {
  infer(item: ModelItem, options?: BatchedInferOptions): Promise<ItemOutputs>;
  /** Rejects queued and future items with SHUTTING_DOWN; resolves when running batches end. */
  stop(): Promise<void>;
  readonly stats: BatchedRunnerStats;
}

/** Region items larger than this (about a 600×580 face) are made into inputs before they queue. */
export const MAX_BATCHED_REGION_BYTES = 1 << 20;

export function createBatchedRunner(session: InferenceSession, options: BatchedRunnerOptions): BatchedRunner {
  const itemBytes = session.itemDims.reduce((a, b) => a * b, 1);
  let batchesRun = 0;
  let itemsRun = 0;

  async function runBatch(items: ModelItem[]): Promise<Array<ItemOutputs | Error>> {
    // A wrong-sized item fails alone; the rest of the batch still runs.
    const problems = items.map((item) => {
      const problem = isRegionItem(item) ? regionItemProblem(item) : item.length === itemBytes ? undefined : `input has ${item.length} bytes, expected ${itemBytes}`;
      return problem === undefined ? undefined : new FacerecError('INVALID_ARGUMENT', `${session.name}: ${problem}`);
    });
    const valid = items.filter((_, i) => problems[i] === undefined);
    if (valid.length === 0) return problems as Error[];
    const outputs = await runItems(session, valid, options.makeInput);
    batchesRun++;
    itemsRun += valid.length;
    const perItem = splitOutputs(outputs, valid.length);
    let next = 0;
    return problems.map((problem) => problem ?? perItem[next++]!);
  }

  const batcher = createBatcher<ModelItem, ItemOutputs>({
    maxBatchSize: options.maxBatchSize,
    maxQueueDelayMs: options.maxQueueDelayMs,
    preferredBatchSizes: options.preferredBatchSizes,
    maxQueueSize: options.maxQueueSize,
    queueTimeoutMs: options.queueTimeoutMs,
    maxInflightBatches: options.maxInflightBatches,
    runBatch,
    onBatch: options.onBatch,
    clock: options.clock,
  });

  return {
    name: session.name,
    itemDims: session.itemDims,
    async infer(item, inferOptions) {
      // A large region (a face filling a big photo) is made into its input first, in
      // a job of its own, so a batch never carries more than a few MiB of pixels.
      const queued = isRegionItem(item) && item.region.data.byteLength > MAX_BATCHED_REGION_BYTES && options.makeInput ? await options.makeInput(item) : item;
      return batcher.enqueue(queued, { signal: inferOptions?.signal, context: inferOptions?.context });
    },
    stop: () => batcher.stop(),
    get stats() {
      return { queueDepth: batcher.queueDepth, inflightCount: batcher.inflightCount, batchesRun, itemsRun };
    },
  };
}
