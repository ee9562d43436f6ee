/**
 * How fit a detected face is to serve as a reference photo: its size, its
 * sharpness and how far the head is turned (yaw). These are measures only;
 * the limits an enrolment applies live in `server/enrolment-quality.ts`.
 *
 * Size and yaw come from the box and the five landmarks the pipeline already
 * returned. Sharpness needs pixels, and the pipeline does not keep the decoded
 * image, so it decodes the face's region of the sent bytes again — in libvips,
 * on sharp's worker threads, never pixel by pixel on the event loop.
 */
import sharp from 'sharp';
import { boxHeight, boxWidth, type FaceBox, type Point } from './types.js';

/** The shorter side of the box, in the pixels of the image the box refers to. */
export function faceSizePx(box: FaceBox): number {
  return Math.min(boxWidth(box), boxHeight(box));
}

/**
 * Depth of the nose tip in front of the eyes and mouth corners, as a fraction
 * of the distance between the eyes, on an average adult head (the 3D mean-face
 * model of the common solvePnP head-pose examples puts the eye centres about
 * 300 units apart and 130 behind the nose tip). With it a sideways nose offset
 * turns into an angle: offset / eye distance = ratio × tan(yaw).
 */
export const NOSE_DEPTH_RATIO = 0.45;

export interface YawEstimate {
  /**
   * How far the nose tip sits off the face's midline (the line through the
   * midpoint of the eyes and the midpoint of the mouth corners), in
   * inter-eye distances: 0 for a frontal face, about 0.26 at 30°, 0.45 at 45°.
   * Positive when the nose points to the image's right.
   */
  readonly noseOffsetRatio: number;
  /** The yaw a mean head turned that far would have (degrees, signed as the ratio); approximate. */
  readonly yawDeg: number;
}

/**
 * Estimates yaw from the five landmarks (left eye, right eye, nose tip, left
 * and right mouth corner). Measuring the nose against the eye-to-mouth
 * midline rather than the image's vertical keeps a tilted head (roll) or a
 * nodding one (pitch) from reading as turned. Undefined without five points.
 */
export function estimateYaw(landmarks: readonly Point[]): YawEstimate | undefined {
  if (landmarks.length < 5) return undefined;
  const [leftEye, rightEye, nose, leftMouth, rightMouth] = landmarks as [Point, Point, Point, Point, Point];
  const eyeMid = { x: (leftEye.x + rightEye.x) / 2, y: (leftEye.y + rightEye.y) / 2 };
  const mouthMid = { x: (leftMouth.x + rightMouth.x) / 2, y: (leftMouth.y + rightMouth.y) / 2 };
  const eyeDistance = Math.hypot(rightEye.x - leftEye.x, rightEye.y - leftEye.y);
  if (eyeDistance === 0) return undefined;
  // Down the face; should the mouth sit on the eyes (a degenerate fit), the eye line's normal stands in.
  let down = { x: mouthMid.x - eyeMid.x, y: mouthMid.y - eyeMid.y };
  if (Math.hypot(down.x, down.y) < 1e-6) down = { x: -(rightEye.y - leftEye.y), y: rightEye.x - leftEye.x };
  const downLength = Math.hypot(down.x, down.y);
  // Signed distance of the nose from the midline; the cross product is positive to the right of "down" as the image shows it.
  const offset = ((nose.x - eyeMid.x) * down.y - (nose.y - eyeMid.y) * down.x) / downLength;
  const noseOffsetRatio = offset / eyeDistance;
  const yawDeg = (Math.atan(noseOffsetRatio / NOSE_DEPTH_RATIO) * 180) / Math.PI;
  return { noseOffsetRatio, yawDeg };
}

/**
 * Side (px) of the square the face is resized to before sharpness is
 * measured: the embedder's input size, so the score describes the detail the
 * embedder will get, whatever the face's size in the photo. A large face
 * with a little blur is shrunk to a sharp 112 px and passes; the same blur
 * on a small face does not.
 */
export const SHARPNESS_SIZE_PX = 112;

/**
 * Part of the box cut from each side before measuring, so a blurred
 * background at the box's edges (portrait mode, shallow focus) does not count
 * against a sharp face.
 */
const SHARPNESS_INSET = 0.1;

/** Standard deviation of the grey levels (0–255) below which a face counts as featureless. */
const MIN_CONTRAST = 1;

/** The integer region of the box shrunk by the inset and clamped to the image; undefined when nothing is left. */
export function sharpnessRegion(box: FaceBox, width: number, height: number): { left: number; top: number; width: number; height: number } | undefined {
  const dx = boxWidth(box) * SHARPNESS_INSET;
  const dy = boxHeight(box) * SHARPNESS_INSET;
  const left = Math.max(0, Math.floor(box.x1 + dx));
  const top = Math.max(0, Math.floor(box.y1 + dy));
  const right = Math.min(width, Math.ceil(box.x2 - dx));
  const bottom = Math.min(height, Math.ceil(box.y2 - dy));
  if (right - left < 2 || bottom - top < 2) return undefined;
  return { left, top, width: right - left, height: bottom - top };
}

/**
 * Sharpness of the face in `box`: the standard deviation of a 3×3 Laplacian
 * over the standard deviation of the grey levels, on the face's inner region
 * in greyscale resized to SHARPNESS_SIZE_PX square. The Laplacian measures
 * fine detail; dividing by the contrast keeps a dim or flat-lit but focused
 * face from reading as blurred (the score is unchanged when the contrast is
 * scaled). README "Enrolment quality" gives the scores of real photos and of
 * blurred copies.
 *
 * `width` and `height` are the upright size of the image (the pipeline's
 * result size); the bytes must have decoded before, as the pipeline has
 * checked them (size limits included).
 */
export async function measureSharpness(bytes: Uint8Array, box: FaceBox, width: number, height: number): Promise<number> {
  const region = sharpnessRegion(box, width, height);
  if (region === undefined) return 0;
  const input = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The options the pipeline decoded with (image.ts), so bytes it accepted decode here too; its size limits already held.
  // Only the region leaves libvips: about 10 ms for a face in a 1920 px JPEG, a third of decoding the whole image to memory.
  const { data, info } = await sharp(input, { failOn: 'error', limitInputPixels: false, pages: 1 })
    .rotate() // the box is in upright pixels: apply the EXIF orientation as the pipeline did
    .extract(region)
    .resize(SHARPNESS_SIZE_PX, SHARPNESS_SIZE_PX, { fit: 'fill' })
    .greyscale()
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  // stats() reads its input only, not a pipeline's output: hence the second, small instance.
  const stats = await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } }).stats();
  const contrast = stats.channels[0]!.stdev;
  // A face of one flat grey has no detail to measure: as unusable as a blurred one.
  if (contrast < MIN_CONTRAST) return 0;
  // stats().sharpness is the Laplacian's standard deviation divided by 9 (libvips scales the kernel by 9).
  return (9 * stats.sharpness) / contrast;
}
