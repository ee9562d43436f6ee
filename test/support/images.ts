/** Real test photos (fetched by `npm ci`) and the malformed inputs the tests send. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { packageRoot } from '../../src/package-root.js';

export function photo(n: 1 | 2 | 3 | 4 | 5 | 6): Buffer {
  return readFileSync(join(packageRoot(), 'test', 'photos', `sample${n}.jpg`));
}

export interface PixelBox {
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
}

/** A JPEG of the box grown by `margin` of its size on each side, clamped to the image. */
export async function cropFace(image: Buffer, box: PixelBox, margin = 0.5): Promise<Buffer> {
  const meta = await sharp(image).metadata();
  const w = box.x2 - box.x1;
  const h = box.y2 - box.y1;
  const left = Math.max(0, Math.floor(box.x1 - margin * w));
  const top = Math.max(0, Math.floor(box.y1 - margin * h));
  const right = Math.min(meta.width!, Math.ceil(box.x2 + margin * w));
  const bottom = Math.min(meta.height!, Math.ceil(box.y2 + margin * h));
  return sharp(image).extract({ left, top, width: right - left, height: bottom - top }).jpeg({ quality: 92 }).toBuffer();
}

export function iou(a: PixelBox, b: PixelBox): number {
  const ix = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const iy = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  const inter = ix * iy;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([length, body, crc]);
}

/** A valid ~60-byte PNG whose header declares width×height RGB pixels (a decompression bomb's shape). */
export function pngDeclaring(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(1))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Deterministic junk (no image signature). */
export function randomBytes(length: number, seed = 7): Buffer {
  const out = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = x & 0xff;
  }
  return out;
}

export function truncated(image: Buffer, keep = 0.5): Buffer {
  return image.subarray(0, Math.floor(image.length * keep));
}

export function onePixelPng(): Promise<Buffer> {
  return sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } }).png().toBuffer();
}
