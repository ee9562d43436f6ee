/**
 * Image files to RGB pixels with sharp (the root project's decoder), since
 * tfjs without tfjs-node has no image decoder of its own. EXIF orientation
 * is applied, as facerec's pipeline does; greyscale and alpha images come
 * out as three channels.
 */
import sharp from 'sharp';

export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** width × height × 3 bytes, row-major. */
  readonly data: Uint8Array;
}

export async function decodeRgb(path: string): Promise<RgbImage> {
  const { data, info } = await sharp(path).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${path}: decoded to ${info.channels} channels, expected 3`);
  return { width: info.width, height: info.height, data };
}
