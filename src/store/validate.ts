import { FacerecError } from '../errors.js';
import { deriveFaceId, SHA256_HEX } from './face-id.js';
import type { FaceInput, ListSubjectsOptions, Payload, SearchOptions } from './vector-store.js';

/** Ids go into SQL, Qdrant payloads and URLs: keep them printable and bounded. */
export const MAX_ID_LENGTH = 256;
/**
 * Subjects per page when none is asked for: the store's `listSubjects()` and
 * ListSubjects with `page_size` 0 share it, so a client sees the same page
 * whichever it calls (the proto and the README say 50).
 */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;
/** How far a stored embedding's norm may drift from 1 (float32 rounding, fp16 models). */
const NORM_TOLERANCE = 1e-2;
const FILTER_KEY = /^[A-Za-z0-9_-]{1,64}$/;
/**
 * Largest payload, in UTF-8 bytes of its JSON. A person's fields (name,
 * employee id, a URL or two) take a few hundred bytes. The cap is what makes
 * every reply fit: a match carries its payload twice (Match.payload and the
 * REST `payloads` list), a reply holds up to MAX_MATCHES_PER_REPLY matches and
 * a ListSubjects page up to 1000 payloads, and protobuf may spend up to 5.5
 * bytes per JSON byte (a list of one-digit numbers: 2 bytes of JSON, 11 of
 * protobuf each). README "Limits" has the arithmetic; 8 KiB would no longer
 * fit a full ListSubjects page into the 32 MiB send limit.
 */
export const MAX_PAYLOAD_BYTES = 4096;
/**
 * Deepest nesting of objects and arrays in a payload, the payload itself
 * being level 1. Structured fields need two or three levels; the cap keeps
 * the recursion of JSON and protobuf encoders, decoders and this check
 * shallow (C++ protobuf gives up at 100 nested messages, and every level
 * here is two: a Struct and its Value).
 */
export const MAX_PAYLOAD_DEPTH = 8;
/**
 * Fields one search filter may name. Each becomes a condition in SQL (four
 * parameters: SQLite refuses a statement with more than 32,766, so 8,192
 * fields used to fail as INTERNAL) or in the Qdrant filter, and is checked
 * against every candidate row; a few dozen cover any real query.
 */
export const MAX_FILTER_KEYS = 32;
/** Longest string value in a filter, in characters: the same bound as an id, which is what filters usually name. */
export const MAX_FILTER_VALUE_LENGTH = MAX_ID_LENGTH;

/** `kind` names the field as the caller's API spells it (`subjectId` in the store, `subject_id` on the wire). */
export function checkId(kind: string, id: unknown): string {
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

/** A JSON object of at most MAX_PAYLOAD_DEPTH levels and MAX_PAYLOAD_BYTES bytes; undefined is `{}`. */
export function checkPayload(payload: unknown, what: string): Payload {
  if (payload === undefined) return {};
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new FacerecError('INVALID_ARGUMENT', `${what} must be a JSON object`);
  }
  // Depth first: the walk stops at the first level too deep, so a cycle or a
  // thousand-level nesting is refused before JSON.stringify recurses into it.
  if (deeperThan(payload, MAX_PAYLOAD_DEPTH)) {
    throw new FacerecError('INVALID_ARGUMENT', `${what} nests objects and arrays more than ${MAX_PAYLOAD_DEPTH} levels deep`, {
      details: { limit: MAX_PAYLOAD_DEPTH },
    });
  }
  let json: string;
  try {
    json = JSON.stringify(payload);
  } catch (cause) {
    // BigInt and the like: values a JSON object cannot hold.
    throw new FacerecError('INVALID_ARGUMENT', `${what} must be a JSON object`, { cause });
  }
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > MAX_PAYLOAD_BYTES) {
    throw new FacerecError('INVALID_ARGUMENT', `${what} is ${bytes} bytes as JSON, the limit is ${MAX_PAYLOAD_BYTES}`, {
      details: { bytes, limit: MAX_PAYLOAD_BYTES },
    });
  }
  return payload as Payload;
}

/** Whether objects and arrays nest more than `limit` levels below and including `value`. */
function deeperThan(value: object, limit: number): boolean {
  const stack: Array<{ value: object; depth: number }> = [{ value, depth: 1 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (depth > limit) return true;
    for (const child of Object.values(current)) {
      if (typeof child === 'object' && child !== null) stack.push({ value: child as object, depth: depth + 1 });
    }
  }
  return false;
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

export function checkSearch(
  query: Float32Array,
  options: SearchOptions,
  dimension: number,
): { k: number; minSimilarity: number; filter: Payload | undefined; rankBy: 'face' | 'subject' } {
  checkEmbedding(query, dimension, 'query');
  if (!Number.isInteger(options.k) || options.k < 1 || options.k > 10_000) {
    throw new FacerecError('INVALID_ARGUMENT', 'k must be an integer in 1..10000');
  }
  const minSimilarity = options.minSimilarity ?? -Infinity;
  if (Number.isNaN(minSimilarity)) throw new FacerecError('INVALID_ARGUMENT', 'minSimilarity is NaN');
  const rankBy = options.rankBy ?? 'face';
  if (rankBy !== 'face' && rankBy !== 'subject') throw new FacerecError('INVALID_ARGUMENT', `rankBy must be "face" or "subject", got ${JSON.stringify(rankBy)}`);
  return { k: options.k, minSimilarity, filter: checkFilter(options.filter), rankBy };
}

/**
 * A search filter: at most MAX_FILTER_KEYS plain field names, each equal to a
 * string (up to MAX_FILTER_VALUE_LENGTH characters), integer or boolean.
 * Returns undefined for no filter or an empty one. The server also calls it
 * before running the models, so a bad filter costs no inference.
 */
export function checkFilter(filter: unknown): Payload | undefined {
  if (filter === undefined) return undefined;
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) {
    throw new FacerecError('INVALID_ARGUMENT', 'filter must be a JSON object');
  }
  const entries = Object.entries(filter);
  // Counted before anything else: each key is a condition in SQL or in Qdrant's filter.
  if (entries.length > MAX_FILTER_KEYS) {
    throw new FacerecError('INVALID_ARGUMENT', `filter has ${entries.length} fields, the limit is ${MAX_FILTER_KEYS}`, {
      details: { keys: entries.length, limit: MAX_FILTER_KEYS },
    });
  }
  for (const [key, value] of entries) {
    // Plain names only: Qdrant reads dots as nesting, SQLite's JSON paths need quoting.
    if (!FILTER_KEY.test(key)) throw new FacerecError('INVALID_ARGUMENT', `filter key ${JSON.stringify(key.slice(0, 80))} must match ${FILTER_KEY}`);
    // Qdrant matches keywords, integers and booleans only; both backends accept the same set.
    const ok = typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isSafeInteger(value));
    if (!ok) throw new FacerecError('INVALID_ARGUMENT', `filter values must be strings, integers or booleans, got ${describeValue(value)} for ${key}`);
    if (typeof value === 'string' && value.length > MAX_FILTER_VALUE_LENGTH) {
      throw new FacerecError('INVALID_ARGUMENT', `filter value for ${key} is ${value.length} characters, the limit is ${MAX_FILTER_VALUE_LENGTH}`, {
        details: { key, length: value.length, limit: MAX_FILTER_VALUE_LENGTH },
      });
    }
  }
  return entries.length > 0 ? (filter as Payload) : undefined;
}

/** A short description of a refused value: the message must stay small whatever the client sent. */
function describeValue(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(JSON.stringify(value) ?? typeof value).slice(0, 80);
  return Array.isArray(value) ? 'a list' : 'an object';
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
