import { test } from 'node:test';
import assert from 'node:assert/strict';
import { iou, nonMaxSuppression } from './nms.js';

const det = (x1: number, y1: number, x2: number, y2: number, score: number) => ({ box: { x1, y1, x2, y2 }, score });

test('iou of identical, disjoint and half-overlapping boxes', () => {
  assert.equal(iou(det(0, 0, 10, 10, 1).box, det(0, 0, 10, 10, 1).box), 1);
  assert.equal(iou(det(0, 0, 10, 10, 1).box, det(20, 20, 30, 30, 1).box), 0);
  assert.equal(iou(det(0, 0, 10, 10, 1).box, det(5, 0, 15, 10, 1).box), 50 / 150);
});

test('nms keeps the best of each cluster and every separate face', () => {
  const kept = nonMaxSuppression(
    [det(0, 0, 10, 10, 0.8), det(1, 1, 11, 11, 0.95), det(100, 100, 120, 120, 0.9), det(0, 1, 10, 11, 0.7), det(101, 100, 121, 120, 0.85)],
    0.4,
  );
  assert.deepEqual(kept.map((d) => d.score), [0.95, 0.9]);
});

test('nms keeps overlapping boxes below the IoU threshold', () => {
  const kept = nonMaxSuppression([det(0, 0, 10, 10, 0.9), det(7, 0, 17, 10, 0.8)], 0.4);
  assert.equal(kept.length, 2);
});

test('nms of nothing is nothing', () => {
  assert.deepEqual(nonMaxSuppression([], 0.4), []);
});
