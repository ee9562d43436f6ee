/**
 * Face alignment: the least-squares similarity transform from the five
 * landmarks onto the ArcFace 112×112 template, applied by libvips (sharp
 * `affine`, bilinear) — the same result as insightface's
 * `cv2.warpAffine(img, M, (112, 112), borderValue=0)`, without a JavaScript
 * pixel loop.
 *
 * libvips places the affine output in a window computed from the matrix
 * alone (see warpSimilarity); align.spec.ts checks the result against a
 * bilinear sample computed by hand, pixel centres on integers. We cut the
 * face's neighbourhood out first (padded with black where it leaves the
 * image; row copies, not a pixel loop) so libvips only transforms that.
 */
import sharp from 'sharp';
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
function sourceRegion(toImage: SimilarityTransform, size: number) {
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

/**
 * The region's pixels, black where it leaves the image: one row copy per
 * image row inside it (a second libvips pipeline for this cost more than the
 * copy, per face).
 */
function cutRegion(
  image: RgbImage,
  region: { left: number; top: number; width: number; height: number },
  inside: { left: number; top: number; right: number; bottom: number },
): Buffer {
  const cut = Buffer.alloc(region.width * region.height * 3);
  const rowBytes = (inside.right - inside.left) * 3;
  const dstX = (inside.left - region.left) * 3;
  for (let y = inside.top; y < inside.bottom; y++) {
    const src = (y * image.width + inside.left) * 3;
    image.data.copy(cut, ((y - region.top) * region.width) * 3 + dstX, src, src + rowBytes);
  }
  return cut;
}

/**
 * Warps `image` by `t` (image → output coordinates) into a size×size RGB crop,
 * black outside the image. Returned as NHWC uint8 without the batch axis.
 */
export async function warpSimilarity(image: RgbImage, t: SimilarityTransform, size = ALIGNED_SIZE): Promise<Uint8Array> {
  const region = sourceRegion(invertSimilarity(t), size);
  const inLeft = Math.max(0, region.left);
  const inTop = Math.max(0, region.top);
  const inRight = Math.min(image.width, region.left + region.width);
  const inBottom = Math.min(image.height, region.top + region.height);
  const out = new Uint8Array(size * size * 3);
  if (inRight <= inLeft || inBottom <= inTop) return out; // the face lies wholly outside the image

  const cut = cutRegion(image, region, { left: inLeft, top: inTop, right: inRight, bottom: inBottom });
  // libvips sizes the output from M alone: output pixel (i, j) samples the input at
  // M⁻¹((i, j) + (L, T) − (odx, ody)), (L, T) = rounded top-left of M·[0, w]×[0, h].
  // Adding (L, T) to the offsets puts crop pixel (u, v) at output pixel (u, v).
  const xs = [0, t.a * region.width, -t.b * region.height, t.a * region.width - t.b * region.height];
  const ys = [0, t.b * region.width, t.a * region.height, t.b * region.width + t.a * region.height];
  const originX = Math.round(Math.min(...xs));
  const originY = Math.round(Math.min(...ys));
  // Region pixel p is image pixel p + (left, top), so the region's offset folds into the translation.
  const odx = t.a * region.left - t.b * region.top + t.tx + originX;
  const ody = t.b * region.left + t.a * region.top + t.ty + originY;
  const { data, info } = await sharp(cut, { raw: { width: region.width, height: region.height, channels: 3 } })
    .affine([t.a, -t.b, t.b, t.a], { odx, ody, interpolator: sharp.interpolators.bilinear })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width < size || info.height < size || info.channels !== 3) {
    throw new RangeError(`affine output ${info.width}×${info.height}×${info.channels} is smaller than the ${size}×${size} crop`);
  }
  const rowBytes = size * 3;
  for (let v = 0; v < size; v++) out.set(data.subarray(v * info.width * 3, v * info.width * 3 + rowBytes), v * rowBytes);
  return out;
}

/** The 112×112 RGB ArcFace crop for a face's five landmarks. */
export async function alignFace(image: RgbImage, points: readonly Point[]): Promise<Uint8Array> {
  return warpSimilarity(image, alignmentTransform(points));
}
