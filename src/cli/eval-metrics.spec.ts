import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bestThreshold, normalQuantileUpper, rankOneCorrect, ratesAt, thresholdForFar } from './eval-metrics.js';

test('ratesAt counts false accepts and rejects at the threshold (>= matches)', () => {
  const r = ratesAt([0.9, 0.5, 0.3], [0.1, 0.3, 0.6], 0.3);
  assert.equal(r.falseRejects, 0);
  assert.equal(r.falseAccepts, 2);
  assert.equal(r.far, 2 / 3);
  assert.equal(r.accuracy, 4 / 6);
});

test('bestThreshold separates separable scores in the middle of the gap', () => {
  const r = bestThreshold([0.5, 0.6, 0.7], [0.1, 0.2, 0.3]);
  assert.equal(r.accuracy, 1);
  assert.ok(Math.abs(r.threshold - 0.4) < 1e-9);
});

test('normal quantiles match the tables', () => {
  assert.ok(Math.abs(normalQuantileUpper(0.5)) < 1e-9);
  assert.ok(Math.abs(normalQuantileUpper(0.025) - 1.959964) < 1e-5);
  assert.ok(Math.abs(normalQuantileUpper(1e-4) - 3.719016) < 1e-5);
});

test('thresholdForFar never lies below the highest negative', () => {
  const t = thresholdForFar([0, 0, 0, 0.9], 0.5);
  assert.ok(t.threshold > 0.9);
});

test('rank-1 finds the nearest other item', () => {
  const points = [0, 0.1, 5, 5.2, 9];
  const labels = ['a', 'a', 'b', 'b', 'a'];
  const r = rankOneCorrect(labels, (i, j) => -Math.abs(points[i]! - points[j]!));
  assert.equal(r.correct, 4);
  assert.deepEqual(r.misses, [4]);
});
