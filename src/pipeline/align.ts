/**
 * Face alignment: the least-squares similarity transform from the five
 * landmarks onto the ArcFace 112×112 template, applied by bilinear sampling
 * — the same result as insightface's
 * `cv2.warpAffine(img, M, (112, 112), borderValue=0)`, without a JavaScript
 * pixel loop. The part of the face's neighbourhood inside the image is cut
 * out by row copies and ONNX Runtime samples it (`ImageOps.warp`), black
 * beyond its edges, as OpenCV's border value 0;
 * align.spec.ts checks the result against a bilinear sample computed by
 * hand, pixel centres on integers.
 *
 * The mirror image of the crop (for flip-averaged embeddings) comes from the
 * same warp graph: the alignment composed with a horizontal flip of the
 * output square is still one affine map, so it is just another matrix.
 */
import type { ImageOps } from './image-ops.js';
import { isRegionItem, type ModelItem } from './session.js';
import { clipToImage, cutRegion, type PixelRect } from './region.js';
import { estimateSimilarity, invertSimilarity, applySimilarity, type SimilarityTransform } from './similarity-transform.js';
import type { Point, RgbImage } from './types.js';

export const ALIGNED_SIZE = 112;

/** insightface's arcface_dst: eye centres, nose tip, mouth corners in a 112×112 crop. */
export const ARCFACE_TEMPLATE: readonly Point[] = [
  { x: 38.2946, y: 51.6963 },
  { x: 73.5318, y: 51.5014 },
  { x: 56.0252, y: 71.7366 },
  { x: 41.5493, y: 92.3655 },
  { x: 70.7299, y: 92.2041 },
];

export function alignmentTransform(points: readonly Point[]): SimilarityTransform {
  return estimateSimilarity(points, ARCFACE_TEMPLATE);
}

/** Integer neighbourhood of the image that the output square maps from, with a 2 px margin for bilinear taps. */
function sourceRegion(toImage: SimilarityTransform, size: number): PixelRect {
  const corners = [
    { x: 0, y: 0 },
    { x: size, y: 0 },
    { x: 0, y: size },
    { x: size, y: size },
  ].map((p) => applySimilarity(toImage, p));
  const left = Math.floor(Math.min(...corners.map((p) => p.x))) - 2;
  const top = Math.floor(Math.min(...corners.map((p) => p.y))) - 2;
  const right = Math.ceil(Math.max(...corners.map((p) => p.x))) + 2;
  const bottom = Math.ceil(Math.max(...corners.map((p) => p.y))) + 2;
  return { left, top, width: right - left, height: bottom - top };
}

export interface WarpOptions {
  /**
   * Produce the crop's mirror image: output pixel (u, v) is sampled where
   * pixel (111 − u, v) of the unmirrored crop is (pixel centres are on
   * integers, so column 0 and column 111 swap exactly).
   */
  readonly mirrored?: boolean;
}

/**
 * GridSample's 3×2 matrix for a region cut at `rect`: output pixel (u, v)
 * maps to image point toImage(u, v) (toImage(111 − u, v) when mirrored), to
 * region pixel minus (left, top), and to normalised x = (2·px + 1) / width − 1
 * (likewise y).
 */
export function samplingMatrix(toImage: SimilarityTransform, rect: PixelRect, options: WarpOptions = {}): Float32Array {
  // The flip u → 111 − u is affine, so the composed map is fixed by where
  // three output pixels land, mirrored or not.
  const at = (u: number, v: number) => applySimilarity(toImage, { x: options.mirrored ? ALIGNED_SIZE - 1 - u : u, y: v });
  const origin = at(0, 0);
  const du = at(1, 0);
  const dv = at(0, 1);
  const sx = 2 / rect.width;
  const sy = 2 / rect.height;
  return Float32Array.of(
    sx * (du.x - origin.x), sy * (du.y - origin.y),
    sx * (dv.x - origin.x), sy * (dv.y - origin.y),
    sx * (origin.x - rect.left + 0.5) - 1, sy * (origin.y - rect.top + 0.5) - 1,
  );
}

/**
 * The embedder's item for each entry of `variants`, from a single cut of the
 * image: the region and the matrix the warp graph samples it with, where
 * the embedder runs. A mirrored crop samples the very same image points, so
 * it needs the same region, only another matrix.
 */
export function warpItems(image: RgbImage, t: SimilarityTransform, variants: readonly WarpOptions[]): ModelItem[] {
  const toImage = invertSimilarity(t);
  // Only the image's own pixels are cut: GridSample's zero padding is the black beyond them,
  // and stray landmarks (a huge or far-off source square) cannot make the cut larger than the image.
  const rect = clipToImage(image, sourceRegion(toImage, ALIGNED_SIZE));
  if (!rect) return variants.map(() => new Uint8Array(ALIGNED_SIZE * ALIGNED_SIZE * 3));
  const region = cutRegion(image, rect);
  return variants.map((variant) => ({ region, theta: samplingMatrix(toImage, rect, variant) }));
}

/** The embedder's items for a face's five landmarks: its ArcFace crop, and the crop's mirror image when `withMirror`. */
export function alignmentItems(image: RgbImage, points: readonly Point[], withMirror: boolean): ModelItem[] {
  return warpItems(image, alignmentTransform(points), withMirror ? [{}, { mirrored: true }] : [{}]);
}

/** The 112×112 crops themselves, warped here by `ops`. */
async function warpCrops(image: RgbImage, t: SimilarityTransform, ops: ImageOps, variants: readonly WarpOptions[]): Promise<Uint8Array[]> {
  return Promise.all(warpItems(image, t, variants).map((item) => (isRegionItem(item) ? ops.warp(item.region, item.theta!) : item)));
}

/**
 * Warps `image` by `t` (image → output coordinates) into the 112×112 RGB
 * crop, black outside the image. Returned as NHWC uint8 without the batch axis.
 */
export async function warpSimilarity(image: RgbImage, t: SimilarityTransform, ops: ImageOps, options: WarpOptions = {}): Promise<Uint8Array> {
  const [crop] = await warpCrops(image, t, ops, [options]);
  return crop!;
}

/** The 112×112 RGB ArcFace crop for a face's five landmarks. */
export async function alignFace(image: RgbImage, points: readonly Point[], ops: ImageOps): Promise<Uint8Array> {
  return warpSimilarity(image, alignmentTransform(points), ops);
}

/** The ArcFace crop and its mirror image, for a flip-averaged embedding. */
export async function alignFaceAndMirror(image: RgbImage, points: readonly Point[], ops: ImageOps): Promise<{ aligned: Uint8Array; mirrored: Uint8Array }> {
  const [aligned, mirrored] = await warpCrops(image, alignmentTransform(points), ops, [{}, { mirrored: true }]);
  return { aligned: aligned!, mirrored: mirrored! };
}
