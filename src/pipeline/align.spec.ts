import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveModelPaths } from '../models/manifest.js';
import { ARCFACE_TEMPLATE, alignFace, alignFaceAndMirror, alignmentTransform, warpSimilarity } from './align.js';
import { openImageOps, type ImageOps } from './image-ops.js';
import { applySimilarity, invertSimilarity, type SimilarityTransform } from './similarity-transform.js';
import type { RgbImage } from './types.js';

let ops: ImageOps;
before(async () => {
  ops = await openImageOps(resolveModelPaths());
});
after(() => ops.close());

/** A smooth but non-linear test image, so a half-pixel slip shows up. */
function testImage(width: number, height: number): RgbImage {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = (x * 3 + y) % 256;
      data[i + 1] = Math.round(127 + 120 * Math.sin(x / 7) * Math.cos(y / 9));
      data[i + 2] = (y * 2) % 256;
    }
  }
  return { data, width, height };
}

/** Bilinear sample with black outside the image, pixel centres on integers (OpenCV's convention). */
function bilinear(image: RgbImage, x: number, y: number, c: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const at = (xi: number, yi: number) =>
    xi < 0 || yi < 0 || xi >= image.width || yi >= image.height ? 0 : image.data[(yi * image.width + xi) * 3 + c]!;
  return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
}

function assertMatchesBilinear(image: RgbImage, t: SimilarityTransform, label: string) {
  return warpSimilarity(image, t, ops).then((out) => {
    const back = invertSimilarity(t);
    let checked = 0;
    for (const [u, v] of [[5, 7], [30, 90], [56, 56], [60, 61], [100, 20], [111, 111], [0, 0], [77, 33]] as const) {
      const p = applySimilarity(back, { x: u, y: v });
      // Stay clear of the image border, where the modulo pattern wraps and black padding starts.
      if (p.x < 2 || p.y < 2 || p.x > image.width - 3 || p.y > image.height - 3) continue;
      for (let c = 0; c < 3; c++) {
        const expected = bilinear(image, p.x, p.y, c);
        const got = out[(v * 112 + u) * 3 + c]!;
        // The red channel wraps at 256; compare only away from the wrap.
        if (c === 0 && (expected < 8 || expected > 247)) continue;
        assert.ok(Math.abs(got - expected) <= 1.5, `${label} (${u},${v}) c${c}: got ${got}, bilinear ${expected.toFixed(2)} at (${p.x.toFixed(2)},${p.y.toFixed(2)})`);
        checked++;
      }
    }
    assert.ok(checked >= 12, `${label}: only ${checked} samples checked`);
  });
}

test('the warp equals a hand-computed bilinear warp, for several rotations and scales', async () => {
  const image = testImage(300, 220);
  const cases: Array<[number, number, number, number]> = [
    [0.3, 0.7, 40.3, 20.6],
    [-0.45, 1.6, -80.2, 60.9],
    [1.2, 0.55, 10.7, -100.1],
    [0, 0.5, -12.5, -30.25],
    [-2.5, 0.9, 250.4, 160.2],
  ];
  for (const [angle, scale, tx, ty] of cases) {
    // Output = t(image): t maps image pixels into the 112×112 crop.
    const t = { a: scale * Math.cos(angle), b: scale * Math.sin(angle), tx, ty };
    // Move the crop's source to the middle of the image so most samples land inside.
    const centre = applySimilarity(invertSimilarity(t), { x: 56, y: 56 });
    const shifted = { ...t, tx: t.tx + t.a * (centre.x - 150) - t.b * (centre.y - 110), ty: t.ty + t.b * (centre.x - 150) + t.a * (centre.y - 110) };
    await assertMatchesBilinear(image, shifted, `angle ${angle} scale ${scale}`);
  }
});

test('a face hanging over the image edge is padded with black, not smeared', async () => {
  const image = testImage(200, 150);
  const t = { a: 1, b: 0, tx: 40, ty: 30 }; // image (0,0) lands at crop (40,30)
  const out = await warpSimilarity(image, t, ops);
  assert.deepEqual([...out.subarray(0, 3)], [0, 0, 0]);
  const i = (60 * 112 + 60) * 3; // image (20,30)
  assert.deepEqual([...out.subarray(i, i + 3)], [...image.data.subarray((30 * 200 + 20) * 3, (30 * 200 + 20) * 3 + 3)]);
});

test('a face wholly outside the image gives a black crop without running the warp', async () => {
  const image = testImage(100, 80);
  const out = await warpSimilarity(image, { a: 1, b: 0, tx: 500, ty: 500 }, ops);
  assert.equal(out.length, 112 * 112 * 3);
  assert.ok(out.every((v) => v === 0));
});

test('degenerate landmarks (a source square far larger than the image) cut no more than the image', async () => {
  const image = testImage(300, 220);
  // Scale 1e-4: the 112×112 crop would map from a square about a million pixels wide.
  const out = await warpSimilarity(image, { a: 1e-4, b: 0, tx: 0, ty: 0 }, ops);
  assert.equal(out.length, 112 * 112 * 3);
});

/** The crop with its columns in reverse order: what a mirror image must equal. */
function reversedAlongX(crop: Uint8Array): Uint8Array {
  const out = new Uint8Array(crop.length);
  for (let v = 0; v < 112; v++) {
    for (let u = 0; u < 112; u++) out.set(crop.subarray((v * 112 + u) * 3, (v * 112 + u) * 3 + 3), (v * 112 + (111 - u)) * 3);
  }
  return out;
}

test('the mirrored warp is the normal crop reversed along x, rotated, scaled and over the image edge', async () => {
  const image = testImage(300, 220);
  const cases: SimilarityTransform[] = [
    { a: 1, b: 0, tx: -90, ty: -50 }, // axis-aligned, inside the image
    { a: 0.7 * Math.cos(0.3), b: 0.7 * Math.sin(0.3), tx: -60.3, ty: -20.6 },
    { a: 1.6 * Math.cos(-0.45), b: 1.6 * Math.sin(-0.45), tx: -250.2, ty: -60.9 },
    { a: 1, b: 0, tx: 40, ty: 30 }, // the top-left of the crop is beyond the image: black, on the right once mirrored
  ];
  for (const t of cases) {
    const [plain, mirrored] = await Promise.all([warpSimilarity(image, t, ops), warpSimilarity(image, t, ops, { mirrored: true })]);
    const expected = reversedAlongX(plain);
    let differing = 0;
    for (let i = 0; i < expected.length; i++) {
      // Both sample the same image points; float32 rounding of the two matrices may move a value across .5.
      assert.ok(Math.abs(mirrored[i]! - expected[i]!) <= 1, `a=${t.a.toFixed(2)} byte ${i}: ${mirrored[i]} vs ${expected[i]}`);
      if (mirrored[i] !== expected[i]) differing++;
    }
    assert.ok(differing <= expected.length / 100, `a=${t.a.toFixed(2)}: ${differing} bytes differ by one`);
  }
});

test('alignFaceAndMirror gives the aligned crop and its mirror image', async () => {
  const image = testImage(300, 220);
  const points = ARCFACE_TEMPLATE.map((p) => ({ x: p.x * 1.3 + 80, y: p.y * 1.3 + 40 }));
  const [{ aligned, mirrored }, alone] = await Promise.all([alignFaceAndMirror(image, points, ops), alignFace(image, points, ops)]);
  assert.deepEqual(aligned, alone);
  const expected = reversedAlongX(aligned);
  assert.ok(mirrored.every((value, i) => Math.abs(value - expected[i]!) <= 1));
  assert.notDeepEqual(mirrored, aligned, 'the test image is not symmetric, so the mirror image must differ');
});

test('landmarks already on the template give the identity transform', () => {
  const t = alignmentTransform(ARCFACE_TEMPLATE);
  assert.ok(Math.abs(t.a - 1) < 1e-12 && Math.abs(t.b) < 1e-12 && Math.abs(t.tx) < 1e-9 && Math.abs(t.ty) < 1e-9);
});
