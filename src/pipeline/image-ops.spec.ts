import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { prepareLayout } from '../models/prepare.js';
import { resolveModelPaths } from '../models/manifest.js';
import { openImageOps, type ImageOps } from './image-ops.js';
import { cutRegion } from './region.js';
import type { RgbImage } from './types.js';

let ops: ImageOps;
let photo: RgbImage;
before(async () => {
  ops = await openImageOps(resolveModelPaths());
  const { data, info } = await sharp(readFileSync(join(prepareLayout().photosDir, 'sample1.jpg'))).raw().toBuffer({ resolveWithObject: true });
  photo = { data, width: info.width, height: info.height };
});
after(() => ops.close());

// The graph replaced sharp's extract → resize(64, 64, linear) → greyscale; it must give the same crop within rounding.
test('the landmark crop matches sharp resize + greyscale on a real photo, shrinking and enlarging', async () => {
  for (const rect of [
    { left: 300, top: 200, width: 150, height: 170 },
    { left: 500, top: 300, width: 400, height: 380 },
    { left: 800, top: 100, width: 64, height: 64 },
    { left: 10, top: 10, width: 40, height: 30 },
  ]) {
    const expected = await sharp(photo.data, { raw: { width: photo.width, height: photo.height, channels: 3 } })
      .extract(rect)
      .resize(64, 64, { fit: 'fill', kernel: 'linear' })
      .greyscale()
      .raw()
      .toBuffer();
    const got = await ops.landmarkCrop(cutRegion(photo, rect));
    assert.equal(got.length, 64 * 64);
    const { max, mean } = differences(got, expected);
    assert.ok(max <= 3 && mean <= 0.5, `${JSON.stringify(rect)}: max diff ${max}, mean ${mean.toFixed(3)}`);
  }
});

test('cutRegion pads with black where the rectangle leaves the image', () => {
  const image = { data: Buffer.alloc(4 * 3 * 3, 200), width: 4, height: 3 };
  const cut = cutRegion(image, { left: -1, top: 2, width: 3, height: 2 });
  // Row 0 of the cut is image row 2: black, then image pixels 0 and 1; row 1 is below the image.
  assert.deepEqual([...cut.data], [0, 0, 0, 200, 200, 200, 200, 200, 200, ...Array(9).fill(0)]);
});

/** OpenCV's `resize(..., INTER_LINEAR)`: bilinear taps at half-pixel centres, clamped at the edges. */
function halfPixelBilinear(image: RgbImage, width: number, height: number): Uint8Array {
  const taps = (size: number, scale: number, i: number) => {
    const x = Math.max(0, (i + 0.5) * scale - 0.5);
    const lo = Math.min(Math.floor(x), size - 1);
    return { lo, hi: Math.min(lo + 1, size - 1), f: x - lo };
  };
  const out = new Uint8Array(width * height * 3);
  for (let v = 0; v < height; v++) {
    const y = taps(image.height, image.height / height, v);
    for (let u = 0; u < width; u++) {
      const x = taps(image.width, image.width / width, u);
      for (let c = 0; c < 3; c++) {
        const at = (row: number, col: number) => image.data[(row * image.width + col) * 3 + c]!;
        const top = at(y.lo, x.lo) * (1 - x.f) + at(y.lo, x.hi) * x.f;
        const bottom = at(y.hi, x.lo) * (1 - x.f) + at(y.hi, x.hi) * x.f;
        out[(v * width + u) * 3 + c] = Math.round(top * (1 - y.f) + bottom * y.f);
      }
    }
  }
  return out;
}

function differences(a: Uint8Array, b: Uint8Array): { max: number; mean: number } {
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / a.length };
}

async function photoResized(width: number, height: number): Promise<RgbImage> {
  const raw = { raw: { width: photo.width, height: photo.height, channels: 3 as const } };
  const data = await sharp(photo.data, raw).resize(width, height, { fit: 'fill' }).raw().toBuffer();
  return { data, width, height };
}

// Enlarging, the detector input is OpenCV's bilinear resize (what the detector's reference code feeds it).
test('the detector input of a small image is a half-pixel bilinear enlargement', async () => {
  for (const [width, height] of [
    [200, 150],
    [250, 250],
  ] as const) {
    const image = await photoResized(width, height);
    const got = await ops.detectorInput(image);
    assert.equal(got.length, 320 * 240 * 3);
    const { max, mean } = differences(got, halfPixelBilinear(image, 320, 240));
    // 250 rows shrink slightly to 240, where the graph's antialiasing widens the filter a little.
    assert.ok(max <= (height > 240 ? 4 : 1) && mean <= 0.2, `${width}×${height}: max diff ${max}, mean ${mean.toFixed(3)}`);
  }
});

// Shrinking, it is the antialiased resize libvips gives larger images, so both paths agree.
test('the detector input of an image larger than 320×240 matches sharp resize within one grey level', async () => {
  const image = await photoResized(500, 300);
  const expected = await sharp(image.data, { raw: { width: 500, height: 300, channels: 3 } }).resize(320, 240, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
  const { max, mean } = differences(await ops.detectorInput(image), expected);
  assert.ok(max <= 1 && mean <= 0.2, `max diff ${max}, mean ${mean.toFixed(3)}`);
});
