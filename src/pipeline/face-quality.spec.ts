import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { estimateYaw, faceSizePx, measureSharpness, sharpnessRegion } from './face-quality.js';
import type { Point } from './types.js';

/**
 * The five landmarks of a mean head (nose tip at the origin, eyes 300 units
 * apart and 135 behind it, mouth corners 260 apart and 125 behind) turned by
 * `yawDeg` and seen straight on: x' = x cos θ + z sin θ.
 */
function meanHeadLandmarks(yawDeg: number, scale = 0.2, at: Point = { x: 200, y: 200 }): Point[] {
  const t = (yawDeg * Math.PI) / 180;
  const head = [
    [-150, -100, -135],
    [150, -100, -135],
    [0, 0, 0],
    [-130, 150, -125],
    [130, 150, -125],
  ] as const;
  return head.map(([x, y, z]) => ({ x: at.x + scale * (x * Math.cos(t) + z * Math.sin(t)), y: at.y + scale * y }));
}

/** The points turned in the image plane by `rollDeg` about `centre` (a tilted head). */
function rolled(points: readonly Point[], rollDeg: number, centre: Point = { x: 200, y: 200 }): Point[] {
  const r = (rollDeg * Math.PI) / 180;
  return points.map((p) => {
    const dx = p.x - centre.x;
    const dy = p.y - centre.y;
    return { x: centre.x + dx * Math.cos(r) - dy * Math.sin(r), y: centre.y + dx * Math.sin(r) + dy * Math.cos(r) };
  });
}

describe('faceSizePx', () => {
  it('is the shorter side of the box', () => {
    assert.equal(faceSizePx({ x1: 10, y1: 20, x2: 60, y2: 100 }), 50);
    assert.equal(faceSizePx({ x1: 0, y1: 0, x2: 90, y2: 30 }), 30);
  });
});

describe('estimateYaw', () => {
  it('recovers the turn of a mean head within a few degrees, with the nose side as its sign', () => {
    for (const yaw of [0, 10, 20, 30, 40, 50, 60]) {
      const right = estimateYaw(meanHeadLandmarks(yaw))!;
      assert.ok(Math.abs(right.yawDeg - yaw) < 3, `turned ${yaw}°: estimated ${right.yawDeg.toFixed(1)}°`);
      const left = estimateYaw(meanHeadLandmarks(-yaw))!;
      assert.ok(Math.abs(left.yawDeg + yaw) < 3, `turned ${-yaw}°: estimated ${left.yawDeg.toFixed(1)}°`);
    }
    assert.equal(Math.abs(estimateYaw(meanHeadLandmarks(0))!.noseOffsetRatio), 0);
  });

  it('does not read a tilted (rolled) head, or a smaller one, as turned', () => {
    const upright = estimateYaw(meanHeadLandmarks(25))!.yawDeg;
    for (const roll of [-40, -15, 15, 40]) {
      assert.ok(Math.abs(estimateYaw(rolled(meanHeadLandmarks(25), roll))!.yawDeg - upright) < 1e-9, `roll ${roll}°`);
    }
    assert.ok(Math.abs(estimateYaw(meanHeadLandmarks(25, 0.05))!.yawDeg - upright) < 1e-9);
  });

  it('gives no estimate without five landmarks or with both eyes on one point', () => {
    assert.equal(estimateYaw([]), undefined);
    assert.equal(estimateYaw(meanHeadLandmarks(10).slice(0, 4)), undefined);
    const p = { x: 5, y: 5 };
    assert.equal(estimateYaw([p, p, { x: 6, y: 9 }, { x: 3, y: 12 }, { x: 7, y: 12 }]), undefined);
  });
});

/** A width × height greyscale PNG of seeded noise at the given contrast around mid-grey. */
function noise(width: number, height: number, contrast = 1, seed = 11): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height);
  let x = seed;
  for (let i = 0; i < pixels.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    pixels[i] = Math.round(128 + contrast * ((x % 201) - 100));
  }
  return sharp(pixels, { raw: { width, height, channels: 1 } }).png().toBuffer();
}

describe('sharpnessRegion', () => {
  it('insets the box and clamps it to the image', () => {
    assert.deepEqual(sharpnessRegion({ x1: 100, y1: 100, x2: 200, y2: 200 }, 640, 480), { left: 110, top: 110, width: 80, height: 80 });
    assert.deepEqual(sharpnessRegion({ x1: -50, y1: -50, x2: 50, y2: 50 }, 640, 480), { left: 0, top: 0, width: 40, height: 40 });
    assert.equal(sharpnessRegion({ x1: 700, y1: 0, x2: 800, y2: 100 }, 640, 480), undefined);
  });
});

describe('measureSharpness', () => {
  const box = { x1: 20, y1: 20, x2: 180, y2: 180 };

  it('scores fine detail high and its blurred copy low', async () => {
    const sharpImage = await noise(200, 200);
    const blurred = await sharp(sharpImage).blur(4).png().toBuffer();
    const [a, b] = await Promise.all([measureSharpness(sharpImage, box, 200, 200), measureSharpness(blurred, box, 200, 200)]);
    assert.ok(a > 1, `noise scores ${a}`);
    assert.ok(b < a / 4, `blurred ${b} against sharp ${a}`);
  });

  it('does not depend on contrast: a dimmer copy scores the same', async () => {
    const [full, dim] = await Promise.all([noise(200, 200, 1), noise(200, 200, 0.4)]);
    const [a, b] = await Promise.all([measureSharpness(full, box, 200, 200), measureSharpness(dim, box, 200, 200)]);
    assert.ok(Math.abs(a - b) / a < 0.05, `full contrast ${a}, 40% contrast ${b}`);
  });

  it('scores a flat face 0, and a box outside the image 0', async () => {
    const flat = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#777777' } }).jpeg().toBuffer();
    assert.equal(await measureSharpness(flat, box, 200, 200), 0);
    assert.equal(await measureSharpness(await noise(200, 200), { x1: 300, y1: 300, x2: 400, y2: 400 }, 200, 200), 0);
  });

  it('reads the box in upright pixels when the file carries an EXIF rotation', async () => {
    // Upright: detail on the left half, flat grey on the right.
    const upright = await sharp(await noise(100, 200)).extend({ right: 100, background: '#808080' }).png().toBuffer();
    // Stored turned a quarter the other way, with orientation 6 ("rotate 90° clockwise to view").
    const stored = await sharp(upright).rotate(-90).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer();
    const left = await measureSharpness(stored, { x1: 0, y1: 0, x2: 100, y2: 200 }, 200, 200);
    const right = await measureSharpness(stored, { x1: 100, y1: 0, x2: 200, y2: 200 }, 200, 200);
    assert.ok(left > 1 && right < 0.1, `left ${left}, right ${right}`);
  });
});
