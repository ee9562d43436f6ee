import { FacerecError } from '../errors.js';
import { deriveFaceId } from './face-id.js';
import type { FaceInput, ListSubjectsOptions, Payload, SearchOptions } from './vector-store.js';

/** Ids go into SQL, Qdrant payloads and URLs: keep them printable and bounded. */
const MAX_ID_LENGTH = 256;
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
/** How far a stored embedding's norm may drift from 1 (float32 rounding, fp16 models). */
const NORM_TOLERANCE = 1e-2;
const FILTER_KEY = /^[A-Za-z0-9_-]{1,64}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

export function checkId(kind: 'subjectId' | 'faceId', id: unknown): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH || /[\u0000-\u001f]/.test(id)) {
    throw new FacerecError('INVALID_ARGUMENT', `${kind} must be 1-${MAX_ID_LENGTH} printable characters`);
  }
  return id;
}

export function checkEmbedding(embedding: unknown, dimension: number, what = 'embedding'): Float32Array {
  if (!(embedding instanceof Float32Array) || embedding.length !== dimension) {
    throw new FacerecError('INVALID_ARGUMENT', `${what} must be a Float32Array of ${dimension} values`);
  }
  let norm = 0;
  for (let i = 0; i < embedding.length; i++) {
    const v = embedding[i]!;
    if (!Number.isFinite(v)) throw new FacerecError('INVALID_ARGUMENT', `${what} holds a non-finite value`);
    norm += v * v;
  }
  if (Math.abs(Math.sqrt(norm) - 1) > NORM_TOLERANCE) {
    throw new FacerecError('INVALID_ARGUMENT', `${what} must be L2-normalised (norm ${Math.sqrt(norm).toFixed(4)})`);
  }
  return embedding;
}

export function checkPayload(payload: unknown, what: string): Payload {
  if (payload === undefined) return {};
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new FacerecError('INVALID_ARGUMENT', `${what} must be a JSON object`);
  }
  return payload as Payload;
}

export interface NormalisedFace {
  readonly faceId: string;
  readonly subjectId: string;
  readonly embedding: Float32Array;
  readonly imageSha256: string | null;
  readonly payload: Payload;
  readonly subjectPayload: Payload | undefined;
}

/** Validates a batch and fills derived face ids; a later duplicate id in one batch wins. */
export function normaliseFaces(faces: readonly FaceInput[], dimension: number): NormalisedFace[] {
  if (!Array.isArray(faces) || faces.length === 0) throw new FacerecError('INVALID_ARGUMENT', 'no faces to upsert');
  return faces.map((face, i) => {
    const subjectId = checkId('subjectId', face.subjectId);
    const imageSha256 = face.imageSha256 ?? null;
    if (imageSha256 !== null && !SHA256_HEX.test(imageSha256)) {
      throw new FacerecError('INVALID_ARGUMENT', `face ${i}: imageSha256 must be 64 lowercase hex characters`);
    }
    let faceId: string;
    if (face.faceId !== undefined) faceId = checkId('faceId', face.faceId);
    else if (imageSha256 !== null) faceId = deriveFaceId(subjectId, imageSha256);
    else throw new FacerecError('INVALID_ARGUMENT', `face ${i}: give a faceId or the imageSha256 to derive one`);
    return {
      faceId,
      subjectId,
      embedding: checkEmbedding(face.embedding, dimension, `face ${i} embedding`),
      imageSha256,
      payload: checkPayload(face.payload, `face ${i} payload`),
      subjectPayload: face.subjectPayload === undefined ? undefined : checkPayload(face.subjectPayload, `face ${i} subjectPayload`),
    };
  });
}

export function checkSearch(query: Float32Array, options: SearchOptions, dimension: number): { k: number; minSimilarity: number; filter: Payload | undefined } {
  checkEmbedding(query, dimension, 'query');
  if (!Number.isInteger(options.k) || options.k < 1 || options.k > 10_000) {
    throw new FacerecError('INVALID_ARGUMENT', 'k must be an integer in 1..10000');
  }
  const minSimilarity = options.minSimilarity ?? -Infinity;
  if (Number.isNaN(minSimilarity)) throw new FacerecError('INVALID_ARGUMENT', 'minSimilarity is NaN');
  const filter = options.filter === undefined ? undefined : checkPayload(options.filter, 'filter');
  for (const key of Object.keys(filter ?? {})) {
    // Plain names only: Qdrant reads dots as nesting, SQLite's JSON paths need quoting.
    if (!FILTER_KEY.test(key)) throw new FacerecError('INVALID_ARGUMENT', `filter key ${JSON.stringify(key)} must match ${FILTER_KEY}`);
  }
  for (const value of Object.values(filter ?? {})) {
    // Qdrant matches keywords, integers and booleans only; both backends accept the same set.
    const ok = typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isSafeInteger(value));
    if (!ok) throw new FacerecError('INVALID_ARGUMENT', `filter values must be strings, integers or booleans, got ${JSON.stringify(value)}`);
  }
  return { k: options.k, minSimilarity, filter: filter && Object.keys(filter).length > 0 ? filter : undefined };
}

export function checkPageSize(options: ListSubjectsOptions | undefined): number {
  const limit = options?.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new FacerecError('INVALID_ARGUMENT', `limit must be an integer in 1..${MAX_PAGE_SIZE}`);
  }
  return limit;
}

/** Every filter field equals the face payload's or the subject payload's value. */
export function matchesFilter(facePayload: Payload, subjectPayload: Payload, filter: Payload | undefined): boolean {
  if (!filter) return true;
  for (const [key, value] of Object.entries(filter)) if (facePayload[key] !== value && subjectPayload[key] !== value) return false;
  return true;
}
