import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applySimilarity, estimateSimilarity, invertSimilarity } from './similarity-transform.js';

const TEMPLATE = [
  { x: 38.2946, y: 51.6963 },
  { x: 73.5318, y: 51.5014 },
  { x: 56.0252, y: 71.7366 },
  { x: 41.5493, y: 92.3655 },
  { x: 70.7299, y: 92.2041 },
];

test('recovers a known rotation, scale and translation exactly', () => {
  const angle = 0.37;
  const scale = 2.3;
  const truth = { a: scale * Math.cos(angle), b: scale * Math.sin(angle), tx: 120.5, ty: -33.25 };
  const src = TEMPLATE;
  const dst = src.map((p) => applySimilarity(truth, p));
  const t = estimateSimilarity(src, dst);
  for (const key of ['a', 'b', 'tx', 'ty'] as const) assert.ok(Math.abs(t[key] - truth[key]) < 1e-9, `${key}: ${t[key]} vs ${truth[key]}`);
});

test('least squares: with noise the estimate stays close and beats the truth on residuals', () => {
  const truth = { a: 0.5 * Math.cos(-0.2), b: 0.5 * Math.sin(-0.2), tx: 10, ty: 20 };
  const noise = [[0.3, -0.2], [-0.1, 0.4], [0.2, 0.1], [-0.4, -0.3], [0.0, 0.2]];
  const src = TEMPLATE.map((p) => ({ x: p.x * 3, y: p.y * 3 }));
  const dst = src.map((p, i) => {
    const q = applySimilarity(truth, p);
    return { x: q.x + noise[i]![0]!, y: q.y + noise[i]![1]! };
  });
  const t = estimateSimilarity(src, dst);
  const residual = (m: typeof t) => src.reduce((s, p, i) => s + (applySimilarity(m, p).x - dst[i]!.x) ** 2 + (applySimilarity(m, p).y - dst[i]!.y) ** 2, 0);
  assert.ok(residual(t) <= residual(truth));
  assert.ok(Math.abs(t.a - truth.a) < 0.01 && Math.abs(t.b - truth.b) < 0.01);
});

test('inverse undoes the transform', () => {
  const t = { a: 1.7, b: -0.4, tx: 3, ty: 9 };
  const p = { x: 12.5, y: -7 };
  const back = applySimilarity(invertSimilarity(t), applySimilarity(t, p));
  assert.ok(Math.abs(back.x - p.x) < 1e-12 && Math.abs(back.y - p.y) < 1e-12);
});
