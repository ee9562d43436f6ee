/**
 * Image work run by ONNX Runtime on the graphs of src/models/image-graphs.ts
 * (built by `npm run models` into models/build): the landmark model's 64×64
 * grey crop and the 112×112 ArcFace warp of each face, and the detector's
 * 320×240 input of a small image (detector.ts says when).
 *
 * Each call is one image of its own size, so these run unbatched, on one
 * intra-op thread: the work is a millisecond or less, too little to gain
 * from waking a second thread. Their outputs go to the batched models.
 */
import { existsSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { FacerecError } from '../errors.js';
import type { ModelName } from '../models/manifest.js';
import type { MakeInput } from './session.js';
import type { RgbImage } from './types.js';

export interface ImageOps {
  /** The region squeezed to 64×64 (linear, antialiased) and turned grey: 64·64 bytes. */
  landmarkCrop(region: RgbImage): Promise<Uint8Array>;
  /**
   * 112×112 RGB bilinear samples of the region, black outside it: output
   * pixel (u, v) is taken at [u, v, 1] · theta (3×2, row-major) in
   * normalised region coordinates (−1 and 1 are the outer pixel edges).
   */
  warp(region: RgbImage, theta: Float32Array): Promise<Uint8Array>;
  /** The whole image squeezed to the detector's 320×240 RGB (linear, antialiased). */
  detectorInput(image: RgbImage): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface ImageOpsPaths {
  readonly landmarkCrop: string;
  readonly faceWarp: string;
  readonly detectorInput: string;
}

async function openGraph(name: string, path: string): Promise<ort.InferenceSession> {
  if (!existsSync(path)) throw new FacerecError('MODEL_NOT_LOADED', `${path} is missing; run \`npm run models\``);
  try {
    return await ort.InferenceSession.create(path, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
  } catch (cause) {
    throw new FacerecError('MODEL_NOT_LOADED', `${name} (${path})`, { cause });
  }
}

function imageTensor(region: RgbImage): ort.Tensor {
  return new ort.Tensor('uint8', new Uint8Array(region.data.buffer, region.data.byteOffset, region.data.byteLength), [1, region.height, region.width, 3]);
}

async function runGraph(session: ort.InferenceSession, name: string, feeds: Record<string, ort.Tensor>, output: string): Promise<Uint8Array> {
  try {
    const results = await session.run(feeds);
    return (results[output] as ort.Tensor).data as Uint8Array;
  } catch (cause) {
    throw new FacerecError('MODEL_FAILED', name, { cause });
  }
}

export async function openImageOps(paths: ImageOpsPaths): Promise<ImageOps> {
  const [crop, warp, resize] = await Promise.all([
    openGraph('landmark-crop', paths.landmarkCrop),
    openGraph('face-warp', paths.faceWarp),
    openGraph('detector-input', paths.detectorInput),
  ]);
  return {
    landmarkCrop: (region) => runGraph(crop, 'landmark-crop', { region: imageTensor(region) }, 'crop'),
    warp: (region, theta) => runGraph(warp, 'face-warp', { region: imageTensor(region), theta: new ort.Tensor('float32', theta, [1, 3, 2]) }, 'aligned'),
    detectorInput: (image) => runGraph(resize, 'detector-input', { image: imageTensor(image) }, 'resized'),
    async close() {
      await Promise.all([crop.release(), warp.release(), resize.release()]);
    },
  };
}

/** How each model's region items become its input: the detector's resize, the landmark crop, the embedder's warp. */
export function inputMaker(ops: ImageOps, model: ModelName): MakeInput {
  switch (model) {
    case 'detector':
      return (item) => ops.detectorInput(item.region);
    case 'landmarks':
      return (item) => ops.landmarkCrop(item.region);
    case 'embedder':
      return (item) => {
        if (!item.theta) throw new FacerecError('MODEL_FAILED', 'an embedder region item needs its warp matrix');
        return ops.warp(item.region, item.theta);
      };
  }
}
