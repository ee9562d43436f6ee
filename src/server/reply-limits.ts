/**
 * How many matches one Recognize reply may carry, so that every reply fits
 * under the gRPC send limit whatever the gallery holds.
 *
 * A match carries its payload twice (Match.payload and the REST-shaped
 * `payloads` list), and a payload may take up to about 22.5 KB once protobuf
 * encodes it (4 KiB of JSON, see MAX_PAYLOAD_BYTES in store/validate.ts; a
 * match merges the subject's and the face's payload, so up to twice that). At
 * MAX_MATCHES_PER_REPLY matches the worst reply is about 9.7 MB, under a third
 * of the default 32 MiB send limit; reply-limits.spec.ts encodes that reply
 * with the real encoder, and README "Limits" has the arithmetic.
 *
 * top_k asks for up to that many matches per face. When top_k × faces would
 * pass the bound, each face gets an equal share instead (at least one, its
 * best), rather than the whole reply failing at the transport.
 */
import { FacerecError } from '../errors.js';
import type { FaceBox } from '../pipeline/types.js';

/**
 * Most matches one reply (a Recognize, a RecognizeUpload or one stream
 * frame's result) carries over all its faces: top_k 100 for one face, or the
 * best match of each of 100 faces (the largest FACEREC_PIPELINE__MAX_FACES_PER_IMAGE).
 */
export const MAX_MATCHES_PER_REPLY = 100;

/**
 * The request's top_k as a match count: 0 (unset) means 1, above `maxTopK`
 * (`server.maxTopK`, at most MAX_MATCHES_PER_REPLY) is refused.
 */
export function topKOf(requested: number, maxTopK: number): number {
  if (!Number.isInteger(requested) || requested < 0) throw new FacerecError('INVALID_ARGUMENT', `top_k must be an integer in 0..${maxTopK}, got ${requested}`);
  if (requested > maxTopK) {
    throw new FacerecError('INVALID_ARGUMENT', `top_k ${requested} is above the maximum ${maxTopK}`, { details: { topK: requested, limit: maxTopK } });
  }
  return requested === 0 ? 1 : requested;
}

export interface MatchPlan<T> {
  /** Matches to ask the store for, per searched face. */
  readonly matchesPerFace: number;
  /** The faces to search; every other face is reported without matches. */
  readonly searched: ReadonlySet<T>;
}

/**
 * Splits MAX_MATCHES_PER_REPLY over the embedded faces: each gets
 * min(topK, ⌊MAX / faces⌋) matches. Should there be more embedded faces than
 * MAX (the faces-per-image setting keeps it from happening), only the largest
 * MAX are searched, one match each.
 */
export function planMatches<T extends { readonly box: FaceBox; readonly embedding?: Float32Array }>(faces: readonly T[], topK: number): MatchPlan<T> {
  const embedded = faces.filter((face) => face.embedding !== undefined);
  if (embedded.length === 0) return { matchesPerFace: topK, searched: new Set() };
  const matchesPerFace = Math.max(1, Math.min(topK, Math.floor(MAX_MATCHES_PER_REPLY / embedded.length)));
  const faceCount = Math.floor(MAX_MATCHES_PER_REPLY / matchesPerFace);
  if (embedded.length <= faceCount) return { matchesPerFace, searched: new Set(embedded) };
  const area = (face: T) => (face.box.x2 - face.box.x1) * (face.box.y2 - face.box.y1);
  return { matchesPerFace, searched: new Set([...embedded].sort((a, b) => area(b) - area(a)).slice(0, faceCount)) };
}
