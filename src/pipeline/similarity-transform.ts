/**
 * Least-squares 2-D similarity transform (rotation, uniform scale,
 * translation) from point set `src` to `dst`, after Umeyama (1991) — the
 * estimate skimage's `SimilarityTransform` and insightface's `norm_crop` use.
 *
 * In 2-D the rotation+scale is [[a, -b], [b, a]], which has a closed form:
 * with centred points, a = Σ(x·u + y·v) / Σ|p|², b = Σ(x·v − y·u) / Σ|p|².
 * This equals Umeyama's SVD solution for proper rotations (det > 0), which is
 * the only case a face can be in (a reflection would be a mirrored face).
 */
import type { Point } from './types.js';

/** Maps (x, y) to (a·x − b·y + tx, b·x + a·y + ty). */
export interface SimilarityTransform {
  readonly a: number;
  readonly b: number;
  readonly tx: number;
  readonly ty: number;
}

function centroid(points: readonly Point[]): Point {
  let x = 0;
  let y = 0;
  for (const p of points) {
    x += p.x;
    y += p.y;
  }
  return { x: x / points.length, y: y / points.length };
}

export function estimateSimilarity(src: readonly Point[], dst: readonly Point[]): SimilarityTransform {
  if (src.length !== dst.length || src.length < 2) throw new RangeError(`need two equal point sets of at least 2 points, got ${src.length} and ${dst.length}`);
  const cs = centroid(src);
  const cd = centroid(dst);
  let sxx = 0;
  let num = 0;
  let cross = 0;
  for (let i = 0; i < src.length; i++) {
    const x = src[i]!.x - cs.x;
    const y = src[i]!.y - cs.y;
    const u = dst[i]!.x - cd.x;
    const v = dst[i]!.y - cd.y;
    sxx += x * x + y * y;
    num += x * u + y * v;
    cross += x * v - y * u;
  }
  if (sxx === 0) throw new RangeError('source points are all identical');
  const a = num / sxx;
  const b = cross / sxx;
  return { a, b, tx: cd.x - (a * cs.x - b * cs.y), ty: cd.y - (b * cs.x + a * cs.y) };
}

export function applySimilarity(t: SimilarityTransform, p: Point): Point {
  return { x: t.a * p.x - t.b * p.y + t.tx, y: t.b * p.x + t.a * p.y + t.ty };
}

export function invertSimilarity(t: SimilarityTransform): SimilarityTransform {
  const d = t.a * t.a + t.b * t.b;
  const a = t.a / d;
  const b = -t.b / d;
  return { a, b, tx: -(a * t.tx - b * t.ty), ty: -(b * t.tx + a * t.ty) };
}
