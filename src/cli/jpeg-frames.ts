/**
 * Splits ffmpeg's `image2pipe` MJPEG output (JPEG after JPEG, nothing in
 * between) into one buffer per frame. The end of a frame is found by walking
 * its marker segments by their lengths up to the scan, then looking for the
 * end-of-image marker in the entropy-coded data, where a 0xFF byte is always
 * followed by a stuffed 0x00 or a restart marker; so a 0xFF 0xD9 pair inside
 * a table or a comment cannot end a frame early.
 */

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;

/** Where the JPEG starting at `start` ends (exclusive), or undefined when it is not all here yet. */
export function jpegEnd(buffer: Buffer, start = 0): number | undefined {
  if (buffer.length < start + 2) return undefined;
  if (buffer[start] !== 0xff || buffer[start + 1] !== SOI) throw new Error('not a JPEG: the stream lost its frame boundaries');
  let i = start + 2;
  // Marker segments up to and including the start of scan.
  for (;;) {
    if (i + 4 > buffer.length) return undefined;
    if (buffer[i] !== 0xff) throw new Error('not a JPEG: bad marker');
    const marker = buffer[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    const length = buffer.readUInt16BE(i + 2);
    i += 2 + length;
    if (marker === SOS) break;
  }
  // Entropy-coded data (and any further scans of a progressive JPEG) until EOI.
  for (; i + 1 < buffer.length; i++) {
    if (buffer[i] !== 0xff) continue;
    const next = buffer[i + 1]!;
    if (next === EOI) return i + 2;
    if (next === 0x00 || next === 0xff || (next >= 0xd0 && next <= 0xd7)) continue;
    // Another marker segment between scans (tables, a new SOS): skip it by its length.
    if (i + 4 > buffer.length) return undefined;
    i += 1 + buffer.readUInt16BE(i + 2);
  }
  return undefined;
}

/** The JPEGs in a byte stream, each as soon as it is complete. */
export async function* jpegFrames(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of chunks) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let end: number | undefined;
    while (pending.length > 0 && (end = jpegEnd(pending)) !== undefined) {
      yield Buffer.from(pending.subarray(0, end));
      pending = pending.subarray(end);
    }
  }
}
