/**
 * The one place model calls go through.
 *
 * An `InferenceSession` runs one model on a whole batch (shape [N, ...item]);
 * `OrtSession` is the ONNX Runtime implementation. The pipeline never calls a
 * session directly: it asks a `ModelRunner` for one item at a time, and the
 * runner decides how items become batches (the dynamic batcher in
 * `src/batching/` gathers items from concurrent requests; `createDirectRunner`
 * runs each item alone). As immich puts ORT, ArmNN and RKNN behind one
 * `ModelSession`, anything that can run a batch can stand behind this.
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { FacerecError } from '../errors.js';
import type { RgbImage } from './types.js';

/** A dense uint8 batch in the model's input layout, batch axis first. */
export interface InputBatch {
  readonly data: Uint8Array;
  readonly dims: readonly number[];
}

/** One float output of a batch run, batch axis first. */
export interface OutputTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

export type BatchOutputs = Readonly<Record<string, OutputTensor>>;

/**
 * A model input still to be made from image pixels, by the model's own
 * image graph (image-ops.ts): the detector's whole small image, the landmark
 * model's face box, the embedder's face neighbourhood and warp matrix.
 * Handing the model the pixels rather than the input lets the graph run
 * where the model runs: on an inference worker, in the same job.
 */
export interface RegionItem {
  readonly region: RgbImage;
  /** The embedder's warp (image-ops.ts `warp`); absent for the other models. */
  readonly theta?: Float32Array;
}

/** One item of a model run: its input bytes, or the region they are made from. */
export type ModelItem = Uint8Array | RegionItem;

export function isRegionItem(item: ModelItem): item is RegionItem {
  return !(item instanceof Uint8Array);
}

/** What is wrong with a region item's shape, or undefined: checked before it joins a batch, so a bad one fails alone. */
export function regionItemProblem(item: RegionItem): string | undefined {
  const { width, height, data } = item.region;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) return `a region must be at least 1×1 whole pixels, not ${width}×${height}`;
  if (data.byteLength !== width * height * 3) return `a ${width}×${height} RGB region has ${width * height * 3} bytes, not ${data.byteLength}`;
  if (item.theta && (item.theta.length !== 6 || !item.theta.every(Number.isFinite))) return 'a warp matrix has 6 finite values';
  return undefined;
}

/** Makes a region item's model input, on the calling thread (image-ops.ts `inputMaker`). */
export type MakeInput = (item: RegionItem) => Promise<Uint8Array>;

export interface InferenceSession {
  /** Model name used in logs, metrics and spans (e.g. "embedder"). */
  readonly name: string;
  /** Shape of one item, without the batch axis (e.g. [112, 112, 3]). */
  readonly itemDims: readonly number[];
  run(batch: InputBatch): Promise<BatchOutputs>;
  /**
   * One run of these items, region items made into inputs where the model
   * runs. Sessions without it (ONNX Runtime in-process) get inputs made by
   * their runner instead.
   */
  runItems?(items: readonly ModelItem[]): Promise<BatchOutputs>;
  close(): Promise<void>;
}

/** One item's outputs: each output tensor's slice for that item, batch axis dropped. */
export type ItemOutputs = Readonly<Record<string, Float32Array>>;

export interface InferOptions {
  /** Aborted work that has not reached the model yet is dropped. */
  readonly signal?: AbortSignal;
}

/** Runs one item through one model; how items are batched is the runner's business. */
export interface ModelRunner {
  readonly name: string;
  readonly itemDims: readonly number[];
  infer(item: ModelItem, options?: InferOptions): Promise<ItemOutputs>;
}

export interface OrtSessionOptions {
  readonly name: string;
  readonly path: string;
  readonly itemDims: readonly number[];
  /** 0 or absent: one thread per core the process may use. */
  readonly intraOpThreads?: number;
}

export class OrtSession implements InferenceSession {
  private constructor(
    readonly name: string,
    readonly itemDims: readonly number[],
    private readonly session: ort.InferenceSession,
  ) {}

  static async create(options: OrtSessionOptions): Promise<OrtSession> {
    try {
      const session = await ort.InferenceSession.create(options.path, {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
        // ONNX Runtime's own 0 counts physical cores as it detects them, which
        // on some virtual machines is one for two vCPUs (measured: a 2-vCPU VM
        // ran the embedder on 1 thread at 0 and 1.75× faster at 2).
        intraOpNumThreads: options.intraOpThreads || availableParallelism(),
        interOpNumThreads: 1,
        executionMode: 'sequential',
        // ORT's idle workers spin for a while after each run; on a few cores that
        // spinning steals the CPU libvips needs for decode, crops and warps between
        // runs (bench/pipeline.ts, 2 cores: 640×480 one-face image 56 → 35 ms).
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      });
      return new OrtSession(options.name, options.itemDims, session);
    } catch (cause) {
      throw new FacerecError('MODEL_NOT_LOADED', `${options.name} (${options.path})`, { cause });
    }
  }

  async run(batch: InputBatch): Promise<BatchOutputs> {
    const inputName = this.session.inputNames[0]!;
    const tensor = new ort.Tensor('uint8', batch.data, batch.dims as number[]);
    let results: ort.InferenceSession.OnnxValueMapType;
    try {
      results = await this.session.run({ [inputName]: tensor });
    } catch (cause) {
      throw new FacerecError('MODEL_FAILED', this.name, { cause });
    }
    const outputs: Record<string, OutputTensor> = {};
    for (const name of this.session.outputNames) {
      const value = results[name] as ort.Tensor;
      outputs[name] = { data: value.data as Float32Array, dims: value.dims };
    }
    return outputs;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/** Splits a batch's outputs into per-item slices (views, no copies). */
export function splitOutputs(outputs: BatchOutputs, count: number): ItemOutputs[] {
  const items: Record<string, Float32Array>[] = Array.from({ length: count }, () => ({}));
  for (const [name, tensor] of Object.entries(outputs)) {
    const per = tensor.data.length / count;
    for (let i = 0; i < count; i++) items[i]![name] = tensor.data.subarray(i * per, (i + 1) * per);
  }
  return items;
}

/**
 * A dense batch of the items, each checked for its size; region items are
 * made into inputs by `makeInput` first.
 */
export async function assembleBatch(session: Pick<InferenceSession, 'name' | 'itemDims'>, items: readonly ModelItem[], makeInput?: MakeInput): Promise<InputBatch> {
  const inputs = await Promise.all(
    items.map((item) => {
      if (!isRegionItem(item)) return item;
      if (!makeInput) throw new FacerecError('MODEL_FAILED', `${session.name}: nothing here can make a model input from an image region`);
      return makeInput(item);
    }),
  );
  const itemBytes = session.itemDims.reduce((a, b) => a * b, 1);
  for (const input of inputs) {
    if (input.length !== itemBytes) throw new FacerecError('INVALID_ARGUMENT', `${session.name} input has ${input.length} bytes, expected ${itemBytes}`);
  }
  // One item passes through without a copy; several are copied into one contiguous batch.
  const data = inputs.length === 1 ? inputs[0]! : new Uint8Array(inputs.length * itemBytes);
  if (inputs.length > 1) inputs.forEach((input, i) => data.set(input, i * itemBytes));
  return { data, dims: [inputs.length, ...session.itemDims] };
}

/** One run of the items: on the session's own `runItems` where it has one, else made into inputs here. */
export async function runItems(session: InferenceSession, items: readonly ModelItem[], makeInput?: MakeInput): Promise<BatchOutputs> {
  if (session.runItems && items.some(isRegionItem)) return session.runItems(items);
  return session.run(await assembleBatch(session, items, makeInput));
}

/**
 * A runner without batching: each item is its own batch of one. Region items
 * go to the session's `runItems`, or are made into inputs by `makeInput`.
 */
export function createDirectRunner(session: InferenceSession, makeInput?: MakeInput): ModelRunner {
  return {
    name: session.name,
    itemDims: session.itemDims,
    async infer(item, options) {
      options?.signal?.throwIfAborted();
      return splitOutputs(await runItems(session, [item], makeInput), 1)[0]!;
    },
  };
}
