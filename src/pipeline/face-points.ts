/**
 * The five alignment points from the 68-point (iBUG 300-W) layout, as the
 * reference implementation derives them: eye centres from the four eyelid
 * points, nose tip, and each mouth corner averaged over its outer and inner
 * lip point.
 */
import type { Point } from './types.js';

const LEFT_EYE = [37, 38, 40, 41];
const RIGHT_EYE = [43, 44, 46, 47];
const NOSE_TIP = 30;
const LEFT_MOUTH = [48, 60];
const RIGHT_MOUTH = [54, 64];

function mean(points: readonly Point[], indices: readonly number[]): Point {
  let x = 0;
  let y = 0;
  for (const i of indices) {
    const p = points[i];
    if (!p) throw new RangeError(`landmark ${i} missing (have ${points.length})`);
    x += p.x;
    y += p.y;
  }
  return { x: x / indices.length, y: y / indices.length };
}

/** Left eye, right eye (in image order), nose tip, left and right mouth corner. */
export function fivePointsFrom68(points: readonly Point[]): Point[] {
  if (points.length !== 68) throw new RangeError(`expected 68 landmarks, got ${points.length}`);
  return [mean(points, LEFT_EYE), mean(points, RIGHT_EYE), mean(points, [NOSE_TIP]), mean(points, LEFT_MOUTH), mean(points, RIGHT_MOUTH)];
}
