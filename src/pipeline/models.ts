/**
 * Opens the three derived models (models/build/*.onnx, built by
 * `npm run models`) as ONNX Runtime sessions, with the item shapes the
 * pipeline feeds them.
 */
import { existsSync } from 'node:fs';
import { FacerecError } from '../errors.js';
import { resolveModelPaths, type ModelName } from '../models/manifest.js';
import { DETECTOR_INPUT_HEIGHT, DETECTOR_INPUT_WIDTH } from './detector.js';
import { LANDMARKS_INPUT_SIZE } from './landmarks.js';
import { ALIGNED_SIZE } from './align.js';
import { inputMaker, openImageOps, type ImageOps } from './image-ops.js';
import { InferencePool } from './inference-pool.js';
import { OrtSession, createDirectRunner, type InferenceSession } from './session.js';
import type { PipelineRunners } from './pipeline.js';

export interface PipelineSessions {
  readonly detector: InferenceSession;
  readonly landmarks: InferenceSession;
  readonly embedder: InferenceSession;
  /** The image graphs (unbatched): what `directRunners` makes region items into inputs with. */
  readonly imageOps: ImageOps;
  /** The worker threads the sessions run on, when they were opened with `workers`. */
  readonly pool?: InferencePool;
}

export interface OpenModelsOptions {
  /** Directory holding detector.onnx, landmarks.onnx and embedder.onnx; default models/build in the package (src/models/manifest.ts). */
  readonly modelsDir?: string | undefined;
  /**
   * ONNX Runtime threads of each model run; 0 or absent: in-process, one per
   * core; on workers, one while other workers are busy and `workers` when a
   * run has the pool to itself (inference-pool.ts).
   */
  readonly intraOpThreads?: number;
  /**
   * Run the models on this many worker threads (inference-pool.ts) instead
   * of on the calling thread; 0 or absent: in-process, one run at a time.
   */
  readonly workers?: number;
}

export const MODEL_ITEM_DIMS = {
  detector: [DETECTOR_INPUT_HEIGHT, DETECTOR_INPUT_WIDTH, 3],
  landmarks: [LANDMARKS_INPUT_SIZE, LANDMARKS_INPUT_SIZE, 1],
  embedder: [ALIGNED_SIZE, ALIGNED_SIZE, 3],
} as const;

export async function openPipelineSessions(options: OpenModelsOptions = {}): Promise<PipelineSessions> {
  const paths = resolveModelPaths(options.modelsDir);
  for (const path of Object.values(paths)) {
    if (!existsSync(path)) throw new FacerecError('MODEL_NOT_LOADED', `${path} is missing; run \`npm run models\``);
  }
  if (options.workers) {
    const model = (name: ModelName) => ({ path: paths[name], itemDims: MODEL_ITEM_DIMS[name] });
    const pinned = options.intraOpThreads ?? 0;
    const pool = await InferencePool.start({
      workers: options.workers,
      intraOpThreads: pinned || 1,
      ...(pinned === 0 && options.workers > 1 ? { soloIntraOpThreads: options.workers } : {}),
      models: { detector: model('detector'), landmarks: model('landmarks'), embedder: model('embedder') },
      imageGraphs: { landmarkCrop: paths.landmarkCrop, faceWarp: paths.faceWarp, detectorInput: paths.detectorInput },
    });
    return {
      detector: pool.session('detector', MODEL_ITEM_DIMS.detector),
      landmarks: pool.session('landmarks', MODEL_ITEM_DIMS.landmarks),
      embedder: pool.session('embedder', MODEL_ITEM_DIMS.embedder),
      imageOps: pool.imageOps(),
      pool,
    };
  }
  const open = (name: keyof typeof MODEL_ITEM_DIMS) => {
    return OrtSession.create({ name, path: paths[name], itemDims: MODEL_ITEM_DIMS[name], intraOpThreads: options.intraOpThreads ?? 0 });
  };
  const [detector, landmarks, embedder, imageOps] = await Promise.all([
    open('detector'),
    open('landmarks'),
    open('embedder'),
    openImageOps({ landmarkCrop: paths.landmarkCrop, faceWarp: paths.faceWarp, detectorInput: paths.detectorInput }),
  ]);
  return { detector, landmarks, embedder, imageOps };
}

/**
 * One unbatched runner per session (the CLI and tests; the server uses the
 * batcher instead); region items the sessions cannot take are made into
 * inputs by `imageOps` on the calling thread.
 */
export function directRunners(sessions: Pick<PipelineSessions, ModelName>, imageOps: ImageOps): PipelineRunners {
  return {
    detector: createDirectRunner(sessions.detector, inputMaker(imageOps, 'detector')),
    landmarks: createDirectRunner(sessions.landmarks, inputMaker(imageOps, 'landmarks')),
    embedder: createDirectRunner(sessions.embedder, inputMaker(imageOps, 'embedder')),
  };
}

export async function closePipelineSessions(sessions: PipelineSessions): Promise<void> {
  await Promise.all([sessions.detector.close(), sessions.landmarks.close(), sessions.embedder.close(), sessions.imageOps.close(), sessions.pool?.close()]);
}
