/**
 * 68 facial landmarks for one detected face: the box (clamped to the image,
 * whole pixels) squeezed to 64×64 grey (`ImageOps.landmarkCrop`), one
 * model run, points mapped back from [0,1] crop coordinates to image pixels.
 */
import { FacerecError } from '../errors.js';
import { cutRegion } from './region.js';
import type { ModelRunner } from './session.js';
import type { FaceBox, Point, RgbImage } from './types.js';

export const LANDMARKS_INPUT_SIZE = 64;

export interface CropRect {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** The whole-pixel crop the landmark model sees for a box. */
export function landmarkCrop(box: FaceBox, width: number, height: number): CropRect {
  const left = Math.min(width - 1, Math.max(0, Math.floor(box.x1)));
  const top = Math.min(height - 1, Math.max(0, Math.floor(box.y1)));
  const right = Math.max(left + 1, Math.min(width, Math.ceil(box.x2)));
  const bottom = Math.max(top + 1, Math.min(height, Math.ceil(box.y2)));
  return { left, top, width: right - left, height: bottom - top };
}

/** Maps the model's 136 values (x,y pairs in [0,1] of the crop) to image pixels. */
export function mapLandmarks(values: Float32Array, crop: CropRect): Point[] {
  const points: Point[] = [];
  for (let i = 0; i + 1 < values.length; i += 2) {
    points.push({ x: crop.left + values[i]! * crop.width, y: crop.top + values[i + 1]! * crop.height });
  }
  return points;
}

export async function predictLandmarks(image: RgbImage, box: FaceBox, runner: ModelRunner, signal?: AbortSignal): Promise<Point[]> {
  const crop = landmarkCrop(box, image.width, image.height);
  // The crop's pixels go to the runner; the landmark-crop graph squeezes them where the model runs.
  const outputs = await runner.infer({ region: cutRegion(image, crop) }, signal ? { signal } : undefined);
  const values = outputs['landmarks'];
  if (!values || values.length !== 136) throw new FacerecError('MODEL_FAILED', 'landmarks output must be named "landmarks" with 136 values');
  return mapLandmarks(values, crop);
}
