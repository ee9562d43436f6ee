import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { isFacerecError } from '../errors.js';
import { decodeImage } from './image.js';

const options = { maxImagePixels: 1_000_000, minFaceSizePx: 20 };
const solid = (channels: 3 | 4, alpha = 1) => sharp({ create: { width: 40, height: 30, channels, background: { r: 200, g: 100, b: 50, alpha } } });

test('every supported format decodes to 8-bit sRGB RGB', async () => {
  const inputs: Record<string, Buffer> = {
    jpeg: await solid(3).jpeg().toBuffer(),
    png: await solid(3).png().toBuffer(),
    webp: await solid(3).webp({ lossless: true }).toBuffer(),
    gif: await solid(3).gif().toBuffer(),
    tiff: await solid(3).tiff().toBuffer(),
    avif: await solid(3).avif({ lossless: true }).toBuffer(),
    grey16: await solid(3).toColourspace('grey16').png().toBuffer(),
    rgba: await solid(4, 0.5).png().toBuffer(),
    cmyk: await solid(3).toColourspace('cmyk').jpeg().toBuffer(),
  };
  for (const [name, bytes] of Object.entries(inputs)) {
    const image = await decodeImage(bytes, options);
    assert.equal(image.width, 40, name);
    assert.equal(image.height, 30, name);
    assert.equal(image.data.length, 40 * 30 * 3, `${name}: 3 channels of 8 bits`);
  }
});

test('a transparent image is flattened onto white', async () => {
  const image = await decodeImage(await solid(4, 0).png().toBuffer(), options);
  assert.deepEqual([...image.data.subarray(0, 3)], [255, 255, 255]);
});

test('EXIF orientation is applied: orientation 6 on a 40×30 image gives 30×40', async () => {
  const bytes = await solid(3).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  const image = await decodeImage(bytes, options);
  assert.deepEqual([image.width, image.height], [30, 40]);
});

test('the size checks use the upright size and say which limit was hit', async () => {
  await assert.rejects(decodeImage(await solid(3).png().toBuffer(), { maxImagePixels: 1000, minFaceSizePx: 20 }), (e) => {
    assert.ok(isFacerecError(e, 'IMAGE_TOO_LARGE'));
    assert.match(e.message, /40×30 = 1200 pixels, limit 1000/);
    return true;
  });
  await assert.rejects(decodeImage(await solid(3).png().toBuffer(), { maxImagePixels: 1e6, minFaceSizePx: 35 }), (e) => {
    assert.ok(isFacerecError(e, 'IMAGE_TOO_SMALL'));
    assert.match(e.message, /40×30, each side must be at least 35 px/);
    return true;
  });
});

test('an image above maxDecodedPixels is shrunk while decoding, upright and with its aspect ratio, and says its source size', async () => {
  const big = sharp({ create: { width: 400, height: 100, channels: 3, background: '#446688' } });
  const upright = await decodeImage(await big.clone().png().toBuffer(), { ...options, maxDecodedPixels: 10_000 });
  assert.deepEqual([upright.width, upright.height, upright.sourceWidth, upright.sourceHeight], [200, 50, 400, 100]);
  assert.equal(upright.data.length, 200 * 50 * 3);
  const rotated = await decodeImage(await big.clone().jpeg().withMetadata({ orientation: 6 }).toBuffer(), { ...options, maxDecodedPixels: 10_000 });
  assert.deepEqual([rotated.width, rotated.height, rotated.sourceWidth, rotated.sourceHeight], [50, 200, 100, 400]);
  const small = await decodeImage(await solid(3).png().toBuffer(), { ...options, maxDecodedPixels: 10_000 });
  assert.deepEqual([small.width, small.height, small.sourceWidth, small.sourceHeight], [40, 30, 40, 30]);
});
