/**
 * Greedy IoU non-maximum suppression, as in torchvision's `nms`: keep the
 * highest-scoring box, drop every remaining box that overlaps it by more than
 * the IoU threshold, repeat. (The reference code sorted by y2 and measured
 * overlap against one box's area only, which kept duplicates.)
 */
import type { Detection, FaceBox } from './types.js';

export function iou(a: FaceBox, b: FaceBox): number {
  const ix = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const iy = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (ix <= 0 || iy <= 0) return 0;
  const inter = ix * iy;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}

/** Returns the kept detections, highest score first. */
export function nonMaxSuppression<T extends Detection>(detections: readonly T[], iouThreshold: number): T[] {
  const sorted = [...detections].sort((a, b) => b.score - a.score);
  const kept: T[] = [];
  for (const candidate of sorted) {
    if (kept.every((k) => iou(k.box, candidate.box) <= iouThreshold)) kept.push(candidate);
  }
  return kept;
}
