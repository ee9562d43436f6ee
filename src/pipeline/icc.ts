/**
 * Recognises embedded ICC profiles that describe sRGB itself.
 *
 * sharp converts every image with an embedded profile to sRGB through
 * LittleCMS. When the embedded profile already is sRGB (most camera and web
 * JPEGs carry one) that transform changes nothing but costs about twice the
 * JPEG decode itself (bench/pipeline.ts: 1920×1280 in ~36 ms instead of
 * ~13 ms), so decodeImage skips it for these profiles.
 */

/** The profile's description ('desc' tag, ICC v2 text or v4 multi-localised), or undefined. */
export function iccDescription(icc: Uint8Array): string | undefined {
  const view = new DataView(icc.buffer, icc.byteOffset, icc.byteLength);
  const ascii = (offset: number, length: number) => String.fromCharCode(...icc.subarray(offset, offset + length));
  if (icc.length < 132 || ascii(36, 4) !== 'acsp') return undefined;
  const tagCount = view.getUint32(128);
  for (let i = 0; i < tagCount && 132 + 12 * (i + 1) <= icc.length; i++) {
    const entry = 132 + 12 * i;
    if (ascii(entry, 4) !== 'desc') continue;
    const offset = view.getUint32(entry + 4);
    const size = view.getUint32(entry + 8);
    if (offset + size > icc.length || size < 12) return undefined;
    const type = ascii(offset, 4);
    if (type === 'desc') {
      const count = view.getUint32(offset + 8);
      return ascii(offset + 12, Math.min(count, size - 12)).replace(/\0.*$/s, '');
    }
    if (type === 'mluc' && size >= 28) {
      // First record: UTF-16BE text at its own offset from the tag start.
      const length = view.getUint32(offset + 20);
      const start = offset + view.getUint32(offset + 24);
      if (start + length > icc.length) return undefined;
      let text = '';
      for (let p = start; p + 1 < start + length; p += 2) text += String.fromCharCode(view.getUint16(p));
      return text.replace(/\0.*$/s, '');
    }
    return undefined;
  }
  return undefined;
}

/** An RGB profile whose description names sRGB (e.g. "sRGB IEC61966-2.1", "sRGB built-in"). */
export function isSrgbProfile(icc: Uint8Array): boolean {
  if (icc.length < 132) return false;
  const colourSpace = String.fromCharCode(...icc.subarray(16, 20));
  return colourSpace === 'RGB ' && /^srgb/i.test(iccDescription(icc) ?? '');
}
