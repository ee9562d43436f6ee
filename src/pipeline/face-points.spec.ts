import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fivePointsFrom68 } from './face-points.js';

test('68 -> 5 takes eyelid means, nose tip and averaged mouth corners', () => {
  // Point i sits at (i, 2i), so every mean is easy to compute by hand.
  const points = Array.from({ length: 68 }, (_, i) => ({ x: i, y: 2 * i }));
  assert.deepEqual(fivePointsFrom68(points), [
    { x: (37 + 38 + 40 + 41) / 4, y: (2 * (37 + 38 + 40 + 41)) / 4 },
    { x: (43 + 44 + 46 + 47) / 4, y: (2 * (43 + 44 + 46 + 47)) / 4 },
    { x: 30, y: 60 },
    { x: 54, y: 108 },
    { x: 59, y: 118 },
  ]);
});

test('68 -> 5 refuses a wrong point count', () => {
  assert.throws(() => fivePointsFrom68([{ x: 0, y: 0 }]), RangeError);
});
