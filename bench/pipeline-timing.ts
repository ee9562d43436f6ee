/**
 * Timing helpers for bench/pipeline.ts: a session wrapper that times every
 * ONNX Runtime run and keeps its input for a later replay, a stage recorder
 * built on the pipeline's instrumentation hook, and summary statistics.
 */
import type { ImageOps } from '../src/pipeline/image-ops.js';
import type { BatchOutputs, InferenceSession, InputBatch } from '../src/pipeline/session.js';
import type { PipelineInstrumentation, StageName } from '../src/pipeline/pipeline.js';
import type { RgbImage } from '../src/pipeline/types.js';

export const STAGES: readonly StageName[] = ['decode', 'detect', 'landmarks', 'align', 'embed'];

/** One recorded model run: which session, its input (kept by reference, no copy) and how long ORT took. */
export interface RecordedRun {
  readonly session: InferenceSession;
  readonly batch: InputBatch;
  readonly ms: number;
}

/** Wraps a session so each `run` is timed and, while `recording`, remembered. */
export class TimedSession implements InferenceSession {
  readonly runs: RecordedRun[] = [];
  recording = false;

  constructor(readonly inner: InferenceSession) {}

  get name(): string {
    return this.inner.name;
  }

  get itemDims(): readonly number[] {
    return this.inner.itemDims;
  }

  async run(batch: InputBatch): Promise<BatchOutputs> {
    const start = performance.now();
    const outputs = await this.inner.run(batch);
    if (this.recording) this.runs.push({ session: this.inner, batch, ms: performance.now() - start });
    return outputs;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** One recorded image-graph run (detector resize, landmark crop or warp) with its inputs. */
interface RecordedImageOp {
  readonly op: 'detectorInput' | 'landmarkCrop' | 'warp';
  readonly region: RgbImage;
  readonly theta?: Float32Array;
  readonly ms: number;
}

/** The same for the image graphs: each call timed and, while `recording`, remembered. */
export class TimedImageOps implements ImageOps {
  readonly runs: RecordedImageOp[] = [];
  recording = false;

  constructor(readonly inner: ImageOps) {}

  landmarkCrop(region: RgbImage): Promise<Uint8Array> {
    return this.#timed({ op: 'landmarkCrop', region }, () => this.inner.landmarkCrop(region));
  }

  warp(region: RgbImage, theta: Float32Array): Promise<Uint8Array> {
    return this.#timed({ op: 'warp', region, theta }, () => this.inner.warp(region, theta));
  }

  detectorInput(image: RgbImage): Promise<Uint8Array> {
    return this.#timed({ op: 'detectorInput', region: image }, () => this.inner.detectorInput(image));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Wall ms to run the recorded calls again, one at a time. */
  async replayMs(runs: readonly RecordedImageOp[]): Promise<number> {
    const start = performance.now();
    for (const run of runs) {
      if (run.op === 'warp') await this.inner.warp(run.region, run.theta!);
      else await this.inner[run.op](run.region);
    }
    return performance.now() - start;
  }

  async #timed(inputs: Omit<RecordedImageOp, 'ms'>, call: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const start = performance.now();
    const out = await call();
    if (this.recording) this.runs.push({ ...inputs, ms: performance.now() - start });
    return out;
  }
}

/**
 * Runs the recorded inputs through the bare sessions and returns the wall ms:
 * the time ONNX Runtime alone needs for the same work. `inflightPerSession`
 * 0 replays one run at a time (as sequential requests ran them); n ≥ 1 lets
 * the sessions run side by side with up to n runs each (as the server's
 * batched runners with maxInflightBatches n can).
 */
export async function replayMs(runs: readonly RecordedRun[], inflightPerSession = 0): Promise<number> {
  const start = performance.now();
  if (inflightPerSession === 0) {
    for (const { session, batch } of runs) await session.run(batch);
  } else {
    const bySession = new Map<InferenceSession, InputBatch[]>();
    for (const { session, batch } of runs) bySession.set(session, [...(bySession.get(session) ?? []), batch]);
    const workers = [...bySession].flatMap(([session, batches]) =>
      Array.from({ length: inflightPerSession }, async () => {
        for (let batch = batches.shift(); batch; batch = batches.shift()) await session.run(batch);
      }),
    );
    await Promise.all(workers);
  }
  return performance.now() - start;
}

/** ORT ms per model, summed over the recorded runs. */
export function ortMsByModel(runs: readonly RecordedRun[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const run of runs) out[run.session.name] = (out[run.session.name] ?? 0) + run.ms;
  return out;
}

/**
 * Per-image stage times. The faces of one image run a stage concurrently, so
 * an image's time in a stage is the union of its intervals, not their sum.
 */
export class StageRecorder {
  private readonly intervals = new Map<StageName, Array<[number, number]>>();

  readonly instrumentation: PipelineInstrumentation = {
    stage: async (name, fn) => {
      const start = performance.now();
      try {
        return await fn();
      } finally {
        const list = this.intervals.get(name) ?? [];
        list.push([start, performance.now()]);
        this.intervals.set(name, list);
      }
    },
  };

  /** ms spent in each stage (union of intervals). */
  totals(): Record<StageName, number> {
    const out = {} as Record<StageName, number>;
    for (const stage of STAGES) out[stage] = unionMs(this.intervals.get(stage) ?? []);
    return out;
  }
}

function unionMs(intervals: Array<[number, number]>): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let [curStart, curEnd] = [Number.NaN, Number.NaN];
  for (const [start, end] of sorted) {
    if (Number.isNaN(curStart) || start > curEnd) {
      if (!Number.isNaN(curStart)) total += curEnd - curStart;
      [curStart, curEnd] = [start, end];
    } else curEnd = Math.max(curEnd, end);
  }
  if (!Number.isNaN(curStart)) total += curEnd - curStart;
  return total;
}

export interface Summary {
  readonly meanMs: number;
  readonly p50Ms: number;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { meanMs: 0, p50Ms: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const p50Ms = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { meanMs: values.reduce((a, b) => a + b, 0) / values.length, p50Ms };
}

export const round = (value: number, digits = 2): number => Number(value.toFixed(digits));
