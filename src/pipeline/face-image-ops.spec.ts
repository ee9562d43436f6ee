import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { prepareLayout } from '../models/prepare.js';
import { resolveModelPaths } from '../models/manifest.js';
import { openFaceImageOps, type FaceImageOps } from './face-image-ops.js';
import { cutRegion } from './region.js';
import type { RgbImage } from './types.js';

let ops: FaceImageOps;
let photo: RgbImage;
before(async () => {
  ops = await openFaceImageOps(resolveModelPaths());
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
    let max = 0;
    let sum = 0;
    for (let i = 0; i < expected.length; i++) {
      const d = Math.abs(expected[i]! - got[i]!);
      max = Math.max(max, d);
      sum += d;
    }
    assert.ok(max <= 3 && sum / expected.length <= 0.5, `${JSON.stringify(rect)}: max diff ${max}, mean ${(sum / expected.length).toFixed(3)}`);
  }
});

test('cutRegion pads with black where the rectangle leaves the image', () => {
  const image = { data: Buffer.alloc(4 * 3 * 3, 200), width: 4, height: 3 };
  const cut = cutRegion(image, { left: -1, top: 2, width: 3, height: 2 });
  // Row 0 of the cut is image row 2: black, then image pixels 0 and 1; row 1 is below the image.
  assert.deepEqual([...cut.data], [0, 0, 0, 200, 200, 200, 200, 200, 200, ...Array(9).fill(0)]);
});
