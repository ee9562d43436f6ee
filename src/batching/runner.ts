/**
 * A ModelRunner that batches: each `infer` call queues one item, and the
 * batcher concatenates the items of concurrent calls into one
 * [n, ...itemDims] tensor for a single session run, then hands each caller
 * its own slice of the outputs. The pipeline's detector, landmark and
 * embedder runners are built this way (see pipeline/session.ts).
 */
import { FacerecError } from '../errors.js';
import type { ModelBatchingConfig } from '../config/schema.js';
import {
  splitOutputs,
  type InferenceSession,
  type InferOptions,
  type ItemOutputs,
  type ModelRunner,
} from '../pipeline/session.js';
import { createBatcher, type BatchInfo, type Clock } from './batcher.js';

export interface BatchedRunnerOptions extends ModelBatchingConfig {
  readonly maxInflightBatches: number;
  readonly preferredBatchSizes?: readonly number[];
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
  infer(item: Uint8Array, options?: BatchedInferOptions): Promise<ItemOutputs>;
  /** Rejects queued and future items with SHUTTING_DOWN; resolves when running batches end. */
  stop(): Promise<void>;
  readonly stats: BatchedRunnerStats;
}

export function createBatchedRunner(session: InferenceSession, options: BatchedRunnerOptions): BatchedRunner {
  const itemBytes = session.itemDims.reduce((a, b) => a * b, 1);
  let batchesRun = 0;
  let itemsRun = 0;

  async function runBatch(items: Uint8Array[]): Promise<Array<ItemOutputs | Error>> {
    // A wrong-sized item fails alone; the rest of the batch still runs.
    const problems = items.map((item) =>
      item.length === itemBytes
        ? undefined
        : new FacerecError('INVALID_ARGUMENT', `${session.name} input has ${item.length} bytes, expected ${itemBytes}`),
    );
    const valid = items.filter((_, i) => problems[i] === undefined);
    if (valid.length === 0) return problems as Error[];
    const outputs = await session.run({ data: concat(valid, itemBytes), dims: [valid.length, ...session.itemDims] });
    batchesRun++;
    itemsRun += valid.length;
    const perItem = splitOutputs(outputs, valid.length);
    let next = 0;
    return problems.map((problem) => problem ?? perItem[next++]!);
  }

  const batcher = createBatcher<Uint8Array, ItemOutputs>({
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
    infer: (item, inferOptions) =>
      batcher.enqueue(item, { signal: inferOptions?.signal, context: inferOptions?.context }),
    stop: () => batcher.stop(),
    get stats() {
      return { queueDepth: batcher.queueDepth, inflightCount: batcher.inflightCount, batchesRun, itemsRun };
    },
  };
}

/** One item passes through without a copy; several are copied into one contiguous batch. */
function concat(items: readonly Uint8Array[], itemBytes: number): Uint8Array {
  if (items.length === 1) return items[0]!;
  const data = new Uint8Array(items.length * itemBytes);
  items.forEach((item, i) => data.set(item, i * itemBytes));
  return data;
}
