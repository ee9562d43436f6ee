/** Cutting a rectangle out of a decoded image: row copies, never a pixel loop. */
import type { RgbImage } from './types.js';

export interface PixelRect {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/**
 * The rectangle's pixels as an image of its own, black where it leaves the
 * source: one `copy` per source row inside it.
 */
export function cutRegion(image: RgbImage, rect: PixelRect): RgbImage {
  const data = Buffer.alloc(rect.width * rect.height * 3);
  const inside = clipToImage(image, rect);
  if (inside) {
    const dstX = (inside.left - rect.left) * 3;
    for (let y = inside.top; y < inside.top + inside.height; y++) {
      const src = (y * image.width + inside.left) * 3;
      image.data.copy(data, (y - rect.top) * rect.width * 3 + dstX, src, src + inside.width * 3);
    }
  }
  return { data, width: rect.width, height: rect.height };
}

/** The part of the rectangle inside the image, or undefined when they share no pixel. */
export function clipToImage(image: RgbImage, rect: PixelRect): PixelRect | undefined {
  const left = Math.max(0, rect.left);
  const top = Math.max(0, rect.top);
  const right = Math.min(image.width, rect.left + rect.width);
  const bottom = Math.min(image.height, rect.top + rect.height);
  return right > left && bottom > top ? { left, top, width: right - left, height: bottom - top } : undefined;
}
