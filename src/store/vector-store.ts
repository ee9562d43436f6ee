/**
 * The gallery contract every backend implements (embedded SQLite + HNSW, or
 * Qdrant). Nothing outside `store/` sees a backend directly; the server and the
 * pipeline only hold a `VectorStore`.
 *
 * Embeddings are L2-normalised, so cosine similarity is the dot product and
 * `similarity` is in [-1, 1], higher is closer.
 */

export type Payload = Readonly<Record<string, unknown>>;

/** Default embedding width (ArcFace-style models). */
export { EMBEDDING_DIM } from '../embedding.js';

export interface FaceInput {
  /** Caller-chosen face id; when absent it is derived from subjectId + imageSha256. */
  readonly faceId?: string;
  readonly subjectId: string;
  /** L2-normalised embedding of `dimension` floats. */
  readonly embedding: Float32Array;
  /** Hex sha256 of the source image bytes (required when faceId is absent). */
  readonly imageSha256?: string;
  /** Face-level fields; search filters match on these. */
  readonly payload?: Payload;
  /** When given, replaces the subject's payload (e.g. `{ name: "Ada" }`). */
  readonly subjectPayload?: Payload;
}

export interface FaceRecord {
  readonly faceId: string;
  readonly subjectId: string;
  readonly payload: Payload;
  readonly imageSha256: string | null;
  readonly createdAtMs: number;
}

export interface SearchOptions {
  /** Neighbours wanted (>= 1). */
  readonly k: number;
  /** Drop matches with similarity below this (default: no floor). */
  readonly minSimilarity?: number;
  /**
   * Equality on top-level fields; all must match. A field matches when the
   * face payload or its subject's payload holds that value, so a filter can
   * name enrolment fields (`camera`) and person fields (`team`) alike.
   */
  readonly filter?: Payload;
  /**
   * 'face' (default): the k nearest enrolled faces, a subject perhaps more
   * than once. 'subject': the k subjects whose templates (the L2-normalised
   * mean of their faces' embeddings) are nearest; `similarity` and
   * `minSimilarity` then refer to the template, and `faceId` names the
   * subject's closest face.
   */
  readonly rankBy?: 'face' | 'subject';
}

/**
 * Subject ranking reads the nearest faces first and ranks their subjects by
 * template: a subject whose template is near the query has faces near it too.
 * This many candidate faces per subject wanted (at least SUBJECT_CANDIDATES_MIN).
 */
export const SUBJECT_CANDIDATES_PER_RESULT = 4;
export const SUBJECT_CANDIDATES_MIN = 16;

export interface SearchMatch {
  readonly faceId: string;
  readonly subjectId: string;
  readonly similarity: number;
  /** The face's own payload. */
  readonly payload: Payload;
  /** The subject's payload as it is now (after any rename). */
  readonly subjectPayload: Payload;
}

export interface SubjectSummary {
  readonly subjectId: string;
  readonly payload: Payload;
  readonly faceCount: number;
}

export interface Subject extends SubjectSummary {
  readonly faces: readonly FaceRecord[];
}

export interface ListSubjectsOptions {
  /** Page size, 1..1000 (default 50, DEFAULT_PAGE_SIZE in validate.ts). */
  readonly limit?: number;
  /** Opaque token from the previous page's `nextPageToken`. */
  readonly pageToken?: string;
}

export interface SubjectPage {
  readonly subjects: readonly SubjectSummary[];
  /** Absent on the last page. */
  readonly nextPageToken?: string;
}

export interface UpsertResult {
  /** Face ids in input order (derived ones included). */
  readonly faceIds: readonly string[];
}

export interface StoreStats {
  readonly backend: 'embedded' | 'qdrant';
  readonly faceCount: number;
  readonly subjectCount: number;
  readonly dimension: number;
  /** How search runs now: a flat scan, an HNSW index, or the remote engine. */
  readonly searchMode: 'exact' | 'hnsw' | 'remote';
}

/** Reads: safe to call concurrently with anything. */
export interface VectorStoreReader {
  search(query: Float32Array, options: SearchOptions): Promise<SearchMatch[]>;
  listSubjects(options?: ListSubjectsOptions): Promise<SubjectPage>;
  /** Throws SUBJECT_NOT_FOUND. */
  getSubject(subjectId: string): Promise<Subject>;
  /** Throws FACE_NOT_FOUND. */
  getFace(faceId: string): Promise<FaceRecord>;
  /** Faces in the gallery, or of one subject. */
  count(subjectId?: string): Promise<number>;
  stats(): Promise<StoreStats>;
}

/** Writes: durable once the promise resolves; atomic per call (embedded) or per batch of points (Qdrant). */
export interface VectorStoreWriter {
  /**
   * Inserts or replaces faces by id; re-enrolling the same image is a no-op update.
   * Throws ALREADY_EXISTS, writing nothing, when a face id belongs to another subject.
   */
  upsertFaces(faces: readonly FaceInput[]): Promise<UpsertResult>;
  /** Replaces an existing subject's payload. Throws SUBJECT_NOT_FOUND. */
  updateSubject(subjectId: string, payload: Payload): Promise<void>;
  /** Removes the subject and all its faces; returns faces removed. Throws SUBJECT_NOT_FOUND. */
  deleteSubject(subjectId: string): Promise<number>;
  /** Throws FACE_NOT_FOUND. */
  deleteFace(faceId: string): Promise<void>;
}

export interface VectorStore extends VectorStoreReader, VectorStoreWriter {
  /** Flushes derived state and releases the data directory / connection. Idempotent. */
  close(): Promise<void>;
}
