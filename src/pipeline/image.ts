/**
 * Decodes an uploaded image once into raw 8-bit sRGB RGB, upright.
 *
 * The header is read with `metadata()` before any pixel is decoded, so a
 * small file that declares a huge canvas (a decompression bomb) is refused
 * without allocating it; sharp's own `limitInputPixels` is set to the same
 * limit as a second line of defence.
 */
import sharp from 'sharp';
import { FacerecError } from '../errors.js';
import { isSrgbProfile } from './icc.js';
import type { RgbImage } from './types.js';

export interface DecodeOptions {
  /** Images with more pixels than this are refused before decoding. */
  readonly maxImagePixels: number;
  /**
   * Larger images are shrunk while decoding to about this many pixels (JPEG
   * shrink-on-load, streamed resize otherwise), so the memory an image holds
   * in flight is bounded whatever its size. Absent: decoded at full size.
   */
  readonly maxDecodedPixels?: number;
  /** Images whose width or height is below this cannot hold a usable face (px). */
  readonly minFaceSizePx: number;
}

/** EXIF orientations 5–8 swap width and height once applied. */
function uprightSize(width: number, height: number, orientation: number | undefined): [number, number] {
  return orientation !== undefined && orientation >= 5 ? [height, width] : [width, height];
}

function classifyDecodeError(cause: unknown): FacerecError {
  const message = cause instanceof Error ? cause.message : String(cause);
  if (/unsupported image format|Input buffer contains unsupported/i.test(message)) {
    return new FacerecError('IMAGE_UNSUPPORTED', 'the bytes are not an image in JPEG, PNG, WebP, GIF, TIFF, AVIF or HEIF format', { cause });
  }
  if (/pixel limit/i.test(message)) return new FacerecError('IMAGE_TOO_LARGE', message, { cause });
  // Decoders refuse a header that declares a 0 px side before metadata() can report it.
  if (/invalid image (width|height)|\b(width|height) (of )?0\b|zero (width|height|size)/i.test(message)) {
    return new FacerecError('IMAGE_ZERO_SIZE', message.split('\n')[0]!.trim(), { cause });
  }
  return new FacerecError('IMAGE_TRUNCATED', message.split('\n')[0]!.trim(), { cause });
}

/** A decoded image and the upright size of the image it came from (larger when it was shrunk). */
export interface DecodedImage extends RgbImage {
  readonly sourceWidth: number;
  readonly sourceHeight: number;
}

/** The size to decode to: the upright size, shrunk with its aspect ratio kept to at most maxPixels. */
export function decodeSize(width: number, height: number, maxPixels: number | undefined): [number, number] {
  if (maxPixels === undefined || width * height <= maxPixels) return [width, height];
  const scale = Math.sqrt(maxPixels / (width * height));
  return [Math.max(1, Math.floor(width * scale)), Math.max(1, Math.floor(height * scale))];
}

export async function decodeImage(bytes: Uint8Array, options: DecodeOptions): Promise<DecodedImage> {
  if (bytes.length === 0) throw new FacerecError('IMAGE_EMPTY');
  const input = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // failOn 'error' lets sharp reject truncated data instead of padding it with grey.
  const sharpOptions = { failOn: 'error', limitInputPixels: options.maxImagePixels, pages: 1 } as const;

  let meta: sharp.Metadata;
  try {
    meta = await sharp(input, { ...sharpOptions, limitInputPixels: false }).metadata();
  } catch (cause) {
    throw classifyDecodeError(cause);
  }
  const declaredWidth = meta.width ?? 0;
  const declaredHeight = meta.pageHeight ?? meta.height ?? 0;
  if (declaredWidth === 0 || declaredHeight === 0) {
    throw new FacerecError('IMAGE_ZERO_SIZE', `${declaredWidth}×${declaredHeight}`, { details: { width: declaredWidth, height: declaredHeight } });
  }
  const pixels = declaredWidth * declaredHeight;
  if (pixels > options.maxImagePixels) {
    throw new FacerecError('IMAGE_TOO_LARGE', `${declaredWidth}×${declaredHeight} = ${pixels} pixels, limit ${options.maxImagePixels}`, {
      details: { width: declaredWidth, height: declaredHeight, pixels, limit: options.maxImagePixels },
    });
  }
  const [uprightWidth, uprightHeight] = uprightSize(declaredWidth, declaredHeight, meta.orientation);
  if (uprightWidth < options.minFaceSizePx || uprightHeight < options.minFaceSizePx) {
    throw new FacerecError('IMAGE_TOO_SMALL', `${uprightWidth}×${uprightHeight}, each side must be at least ${options.minFaceSizePx} px`, {
      details: { width: uprightWidth, height: uprightHeight, minSidePx: options.minFaceSizePx },
    });
  }

  try {
    // An embedded sRGB profile would be converted to sRGB for nothing (see icc.ts).
    const ignoreIcc = meta.icc !== undefined && isSrgbProfile(meta.icc);
    const [width, height] = decodeSize(uprightWidth, uprightHeight, options.maxDecodedPixels);
    let pipeline = sharp(input, { ...sharpOptions, ignoreIcc }).rotate(); // applies the EXIF orientation
    if (width !== uprightWidth || height !== uprightHeight) pipeline = pipeline.resize(width, height, { fit: 'fill' });
    const { data, info } = await pipeline
      .toColourspace('srgb')
      .flatten({ background: '#ffffff' }) // transparent areas become white, not whatever RGB they hide
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return { data, width: info.width, height: info.height, sourceWidth: uprightWidth, sourceHeight: uprightHeight };
  } catch (cause) {
    throw classifyDecodeError(cause);
  }
}
