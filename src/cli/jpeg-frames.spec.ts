import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { jpegFrames } from './jpeg-frames.js';

async function* chunksOf(buffer: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buffer.length; i += size) yield buffer.subarray(i, i + size);
}

describe('jpegFrames', () => {
  it('splits back-to-back JPEGs however the bytes arrive', async () => {
    const jpegs = await Promise.all(
      ['#123', '#abc', '#f00'].map((background, i) =>
        sharp({ create: { width: 40 + i, height: 30, channels: 3, background } })
          // A comment holding FF D9 must not end the frame.
          .withMetadata({ exif: { IFD0: { ImageDescription: 'a\u00ff\u00d9b' } } })
          .jpeg()
          .toBuffer(),
      ),
    );
    const stream = Buffer.concat(jpegs);
    for (const size of [1, 7, 1000, stream.length]) {
      const frames: Buffer[] = [];
      for await (const frame of jpegFrames(chunksOf(stream, size))) frames.push(frame);
      assert.deepEqual(frames, jpegs, `chunks of ${size}`);
    }
    const widths = await Promise.all(jpegs.map(async (j) => (await sharp(j).metadata()).width));
    assert.deepEqual(widths, [40, 41, 42]);
  });

  it('refuses bytes that are not JPEG', async () => {
    await assert.rejects(async () => {
      for await (const _ of jpegFrames(chunksOf(Buffer.from('hello world'), 4))) void _;
    }, /not a JPEG/);
  });
});
