/** The messages between the inference pool and its worker threads (structured-clone data only). */
import type { ModelName } from '../models/manifest.js';
import type { BatchOutputs, ModelItem } from './session.js';
import type { RgbImage } from './types.js';

export interface WorkerSetup {
  readonly models: Readonly<Record<ModelName, { readonly path: string; readonly itemDims: readonly number[] }>>;
  readonly imageGraphs: { readonly landmarkCrop: string; readonly faceWarp: string; readonly detectorInput: string };
  /** Threads of each model run while other workers are busy. */
  readonly intraOpThreads: number;
  /**
   * Threads of a model run that has the pool to itself (every other worker
   * idle, nothing queued); absent: every run uses `intraOpThreads`.
   */
  readonly soloIntraOpThreads?: number;
}

/** What a worker posts once its models are open (or failed to open). */
export type WorkerReady = { readonly ready: true } | { readonly ready: false; readonly error: string };

export type PoolJob =
  | { readonly id: number; readonly kind: 'model'; readonly model: ModelName; readonly data: Uint8Array; readonly dims: readonly number[]; readonly solo?: boolean }
  /** A model run whose region items the worker makes into inputs first, with the model's image graph. */
  | { readonly id: number; readonly kind: 'model'; readonly model: ModelName; readonly items: readonly ModelItem[]; readonly solo?: boolean }
  | { readonly id: number; readonly kind: 'landmarkCrop'; readonly region: RgbImage }
  | { readonly id: number; readonly kind: 'warp'; readonly region: RgbImage; readonly theta: Float32Array }
  | { readonly id: number; readonly kind: 'detectorInput'; readonly image: RgbImage };

/** Distributes over the job kinds: a job without its id, as callers hand it to the pool. */
export type JobRequest = PoolJob extends infer J ? (J extends PoolJob ? Omit<J, 'id'> : never) : never;

export type PoolReply =
  | { readonly id: number; readonly outputs: BatchOutputs }
  | { readonly id: number; readonly bytes: Uint8Array }
  | { readonly id: number; readonly error: string };
