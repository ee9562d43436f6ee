/**
 * Face detection: the whole upright image squeezed to 320×240 (the detector
 * was trained without keeping the aspect ratio), one model run, score
 * threshold, greedy NMS, boxes scaled back to image pixels.
 *
 * The squeeze is bilinear with pixel centres at half-pixel offsets, as
 * OpenCV's `resize` gives it, antialiased when it shrinks. Small images
 * (portraits, up to twice the detector input's pixels) go to the detector's
 * runner whole, and ONNX Runtime's `detector-input` graph (ImageOps) resizes
 * them on the inference worker that runs the detector, in the same job:
 * libvips spends twice the CPU on enlarging 250×250 to 320×240, and its
 * enlargement does not line up with OpenCV's (a mean difference of 3 grey
 * levels on a 250×250 portrait, against 0.1 for the graph). Larger images
 * are shrunk by libvips, which is the faster of the two there and agrees
 * with the graph within one grey level.
 */
import sharp from 'sharp';
import { FacerecError } from '../errors.js';
import type { ModelItem, ModelRunner } from './session.js';
import { nonMaxSuppression } from './nms.js';
import type { Detection, RgbImage } from './types.js';

export const DETECTOR_INPUT_WIDTH = 320;
export const DETECTOR_INPUT_HEIGHT = 240;

export interface DetectOptions {
  readonly scoreThreshold: number;
  readonly nmsIouThreshold: number;
}

/** Images of up to this many pixels are resized by the graph, larger ones by libvips. */
export const GRAPH_RESIZE_MAX_PIXELS = 2 * DETECTOR_INPUT_WIDTH * DETECTOR_INPUT_HEIGHT;

/**
 * The detector's item: a small image itself, for the graph to resize where
 * the detector runs; a larger one resized here to 320×240 RGB, NHWC uint8
 * without the batch axis.
 */
export async function detectorItem(image: RgbImage): Promise<ModelItem> {
  if (image.width * image.height <= GRAPH_RESIZE_MAX_PIXELS) return { region: image };
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(DETECTOR_INPUT_WIDTH, DETECTOR_INPUT_HEIGHT, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Turns the model's per-anchor outputs into detections in image pixels. */
export function decodeDetections(
  scores: Float32Array,
  boxes: Float32Array,
  width: number,
  height: number,
  options: DetectOptions,
): Detection[] {
  const candidates: Detection[] = [];
  const anchors = scores.length / 2;
  for (let i = 0; i < anchors; i++) {
    const score = scores[2 * i + 1]!;
    if (score < options.scoreThreshold) continue;
    const x1 = Math.max(0, boxes[4 * i]! * width);
    const y1 = Math.max(0, boxes[4 * i + 1]! * height);
    const x2 = Math.min(width, boxes[4 * i + 2]! * width);
    const y2 = Math.min(height, boxes[4 * i + 3]! * height);
    if (x2 - x1 < 1 || y2 - y1 < 1) continue;
    candidates.push({ box: { x1, y1, x2, y2 }, score });
  }
  return nonMaxSuppression(candidates, options.nmsIouThreshold);
}

export async function detectFaces(image: RgbImage, runner: ModelRunner, options: DetectOptions, signal?: AbortSignal): Promise<Detection[]> {
  const input = await detectorItem(image);
  const outputs = await runner.infer(input, signal ? { signal } : undefined);
  const scores = outputs['scores'];
  const boxes = outputs['boxes'];
  if (!scores || !boxes) throw new FacerecError('MODEL_FAILED', 'detector outputs must be named "scores" and "boxes"');
  return decodeDetections(scores, boxes, image.width, image.height, options);
}
