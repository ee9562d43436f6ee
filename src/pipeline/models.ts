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
import { openFaceImageOps, type FaceImageOps } from './face-image-ops.js';
import { OrtSession, createDirectRunner, type InferenceSession } from './session.js';
import type { PipelineRunners } from './pipeline.js';

export interface PipelineSessions {
  readonly detector: InferenceSession;
  readonly landmarks: InferenceSession;
  readonly embedder: InferenceSession;
  /** The landmark crop and alignment warp graphs (unbatched). */
  readonly imageOps: FaceImageOps;
}

export interface OpenModelsOptions {
  /** Directory holding detector.onnx, landmarks.onnx and embedder.onnx; default models/build in the package (src/models/manifest.ts). */
  readonly modelsDir?: string | undefined;
  readonly intraOpThreads?: number;
}

export const MODEL_ITEM_DIMS = {
  detector: [DETECTOR_INPUT_HEIGHT, DETECTOR_INPUT_WIDTH, 3],
  landmarks: [LANDMARKS_INPUT_SIZE, LANDMARKS_INPUT_SIZE, 1],
  embedder: [ALIGNED_SIZE, ALIGNED_SIZE, 3],
} as const;

export async function openPipelineSessions(options: OpenModelsOptions = {}): Promise<PipelineSessions> {
  const paths = resolveModelPaths(options.modelsDir);
  const open = (name: keyof typeof MODEL_ITEM_DIMS) => {
    const path = paths[name];
    if (!existsSync(path)) {
      throw new FacerecError('MODEL_NOT_LOADED', `${path} is missing; run \`npm run models\``);
    }
    return OrtSession.create({ name, path, itemDims: MODEL_ITEM_DIMS[name], intraOpThreads: options.intraOpThreads ?? 0 });
  };
  const [detector, landmarks, embedder, imageOps] = await Promise.all([
    open('detector'),
    open('landmarks'),
    open('embedder'),
    openFaceImageOps({ landmarkCrop: paths.landmarkCrop, faceWarp: paths.faceWarp }),
  ]);
  return { detector, landmarks, embedder, imageOps };
}

/** One unbatched runner per session (the CLI and tests; the server uses the batcher instead). */
export function directRunners(sessions: Pick<PipelineSessions, ModelName>): PipelineRunners {
  return {
    detector: createDirectRunner(sessions.detector),
    landmarks: createDirectRunner(sessions.landmarks),
    embedder: createDirectRunner(sessions.embedder),
  };
}

export async function closePipelineSessions(sessions: PipelineSessions): Promise<void> {
  await Promise.all([sessions.detector.close(), sessions.landmarks.close(), sessions.embedder.close(), sessions.imageOps.close()]);
}
