/**
 * Unknown faces kept for review: for each camera track that was never
 * identified, its best face crop (a small JPEG) and its embedding, so an
 * operator can see who passed and enrol them. The list lives in the gallery's
 * backend (a table in the embedded store, a collection in Qdrant), so every
 * replica sees the same one. It is bounded by count and by age: each add
 * drops the oldest entries beyond `maxFaces` and any older than `maxAgeMs`.
 */

export interface ReviewFaceInput {
  readonly cameraId: string;
  /** The track's id within its stream (streams number their tracks from 1). */
  readonly trackId: number;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly framesSeen: number;
  /** JPEG bytes of the face with some margin. */
  readonly crop: Uint8Array;
  /** L2-normalised embedding of the track (mean of its embeddings). */
  readonly embedding: Float32Array;
  /** The gallery subject nearest the track, below the match threshold; absent with an empty gallery. */
  readonly nearestSubjectId?: string | undefined;
  readonly nearestSimilarity?: number | undefined;
}

export interface ReviewFace extends ReviewFaceInput {
  readonly reviewId: string;
  /** When the entry was kept; its age is measured from here. */
  readonly createdAtMs: number;
}

export interface ReviewLimits {
  readonly maxFaces: number;
  readonly maxAgeMs: number;
}

export interface ReviewStore {
  /** Keeps one face and prunes the list to the limits; resolves with the new entry's id. */
  add(face: ReviewFaceInput, limits: ReviewLimits, nowMs?: number): Promise<string>;
  /** Entries within the age limit, newest first. */
  list(limits: ReviewLimits, nowMs?: number): Promise<ReviewFace[]>;
  /** Throws REVIEW_FACE_NOT_FOUND. */
  get(reviewId: string): Promise<ReviewFace>;
  /** Removes crop and embedding. Throws REVIEW_FACE_NOT_FOUND. */
  delete(reviewId: string): Promise<void>;
  /** Removes every entry; resolves with how many there were. */
  deleteAll(): Promise<number>;
}

/** Store backends that can hold a review list beside the gallery. */
export interface ReviewStoreHost {
  openReviewStore(): Promise<ReviewStore>;
}

export function hostsReviewStore(store: object): store is ReviewStoreHost {
  return typeof (store as Partial<ReviewStoreHost>).openReviewStore === 'function';
}

/** Newest first, then the ones to drop: beyond the count, or too old. */
export function splitByLimits<T extends { createdAtMs: number; reviewId: string }>(entries: readonly T[], limits: ReviewLimits, nowMs: number): { kept: T[]; dropped: T[] } {
  const sorted = [...entries].sort((a, b) => b.createdAtMs - a.createdAtMs || (a.reviewId < b.reviewId ? 1 : -1));
  const kept: T[] = [];
  const dropped: T[] = [];
  for (const entry of sorted) {
    if (kept.length < limits.maxFaces && nowMs - entry.createdAtMs <= limits.maxAgeMs) kept.push(entry);
    else dropped.push(entry);
  }
  return { kept, dropped };
}
