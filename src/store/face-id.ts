import { createHash } from 'node:crypto';

import { FacerecError } from '../errors.js';

/** An image hash as `FaceInput.imageSha256` takes it: 64 lowercase hex characters. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Hex sha256 of image bytes, the form `FaceInput.imageSha256` takes. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Face id for an enrolment without one: the same subject + the same image bytes
 * always give the same id, so enrolling a photo twice updates instead of
 * duplicating. The NUL separator keeps ("a", "bc") and ("ab", "c") apart.
 */
export function deriveFaceId(subjectId: string, imageSha256: string): string {
  if (!SHA256_HEX.test(imageSha256)) {
    throw new FacerecError('INVALID_ARGUMENT', 'imageSha256 must be 64 lowercase hex characters');
  }
  return `f_${sha256Hex(`${subjectId}\0${imageSha256}`).slice(0, 32)}`;
}

/**
 * Qdrant point ids must be unsigned ints or UUIDs; ours are free strings. A
 * name-based UUID (sha256 truncated, version nibble 5, RFC 4122 variant) maps
 * each id to one point id on every node and every restart. The caller's id
 * stays in the payload.
 */
export function toPointUuid(namespace: string, id: string): string {
  const h = sha256Hex(`${namespace}\0${id}`).slice(0, 32).split('');
  h[12] = '5';
  h[16] = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

/**
 * A face id names one face of one subject. Upserting it again for the same
 * subject updates that face; for another subject it is refused rather than
 * quietly moving someone's face to someone else (delete it first to re-assign).
 */
export function faceIdTaken(faceId: string, ownerSubjectId: string, subjectId: string): FacerecError {
  return new FacerecError(
    'ALREADY_EXISTS',
    `face ${JSON.stringify(faceId)} belongs to subject ${JSON.stringify(ownerSubjectId)}; delete it before enrolling it for ${JSON.stringify(subjectId)}, or choose another face id`,
    { details: { faceId, subjectId: ownerSubjectId } },
  );
}
