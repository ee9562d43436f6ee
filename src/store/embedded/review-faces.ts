/**
 * The review list of the embedded store: one table in gallery.sqlite, beside
 * the faces, written on the store's own connection (the database is opened
 * with an exclusive lock, so nothing else could open it). Entries are few
 * (bounded by `maxFaces`), so pruning reads their times and deletes by id.
 */
import { randomUUID } from 'node:crypto';
import { FacerecError } from '../../errors.js';
import type { ReviewFace, ReviewFaceInput, ReviewLimits, ReviewStore } from '../review-store.js';
import { splitByLimits } from '../review-store.js';
import { blobToEmbedding, embeddingToBlob } from './embedding-blob.js';
import type { Db } from './record-db.js';

/** Added in schema version 3. IF NOT EXISTS: a migration from version 1 may find it made already. */
export const REVIEW_SCHEMA = `
CREATE TABLE IF NOT EXISTS review_faces (
  review_id TEXT PRIMARY KEY,
  camera_id TEXT NOT NULL,
  track_id INTEGER NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  frames_seen INTEGER NOT NULL,
  crop BLOB NOT NULL,
  embedding BLOB NOT NULL,
  nearest_subject_id TEXT,
  nearest_similarity REAL,
  created_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS review_faces_by_time ON review_faces(created_at_ms);
`;

interface Row {
  review_id: string;
  camera_id: string;
  track_id: number;
  first_seen_ms: number;
  last_seen_ms: number;
  frames_seen: number;
  crop: Buffer;
  embedding: Buffer;
  nearest_subject_id: string | null;
  nearest_similarity: number | null;
  created_at_ms: number;
}

function toFace(row: Row): ReviewFace {
  return {
    reviewId: row.review_id,
    cameraId: row.camera_id,
    trackId: row.track_id,
    firstSeenMs: row.first_seen_ms,
    lastSeenMs: row.last_seen_ms,
    framesSeen: row.frames_seen,
    crop: new Uint8Array(row.crop),
    embedding: blobToEmbedding(row.embedding),
    nearestSubjectId: row.nearest_subject_id ?? undefined,
    nearestSimilarity: row.nearest_similarity ?? undefined,
    createdAtMs: row.created_at_ms,
  };
}

export function notFound(reviewId: string): FacerecError {
  return new FacerecError('REVIEW_FACE_NOT_FOUND', reviewId, { details: { reviewId } });
}

/**
 * `guard` is the store's own wrapper: it refuses calls once the store is
 * closed and translates SQLite failures, as for every other store call.
 */
export function createEmbeddedReviewStore(db: Db, guard: <T>(fn: () => T) => Promise<T>): ReviewStore {
  const insert = db.prepare(
    `INSERT INTO review_faces (review_id, camera_id, track_id, first_seen_ms, last_seen_ms, frames_seen, crop, embedding, nearest_subject_id, nearest_similarity, created_at_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const times = db.prepare('SELECT review_id AS reviewId, created_at_ms AS createdAtMs FROM review_faces');
  const remove = db.prepare('DELETE FROM review_faces WHERE review_id = ?');
  const one = db.prepare('SELECT * FROM review_faces WHERE review_id = ?');
  const all = db.prepare('SELECT * FROM review_faces ORDER BY created_at_ms DESC, review_id DESC');
  const clear = db.prepare('DELETE FROM review_faces');

  const prune = db.transaction((limits: ReviewLimits, nowMs: number) => {
    const { dropped } = splitByLimits(times.all() as Array<{ reviewId: string; createdAtMs: number }>, limits, nowMs);
    for (const entry of dropped) remove.run(entry.reviewId);
  });
  const addAndPrune = db.transaction((face: ReviewFaceInput, reviewId: string, limits: ReviewLimits, nowMs: number) => {
    insert.run(
      reviewId,
      face.cameraId,
      face.trackId,
      face.firstSeenMs,
      face.lastSeenMs,
      face.framesSeen,
      Buffer.from(face.crop),
      embeddingToBlob(face.embedding),
      face.nearestSubjectId ?? null,
      face.nearestSimilarity ?? null,
      nowMs,
    );
    prune(limits, nowMs);
  });

  return {
    add: (face, limits, nowMs = Date.now()) =>
      guard(() => {
        const reviewId = randomUUID();
        addAndPrune(face, reviewId, limits, nowMs);
        return reviewId;
      }),
    list: (limits, nowMs = Date.now()) =>
      guard(() => {
        prune(limits, nowMs);
        return (all.all() as Row[]).map(toFace);
      }),
    get: (reviewId) =>
      guard(() => {
        const row = one.get(reviewId) as Row | undefined;
        if (!row) throw notFound(reviewId);
        return toFace(row);
      }),
    delete: (reviewId) =>
      guard(() => {
        if (remove.run(reviewId).changes === 0) throw notFound(reviewId);
      }),
    deleteAll: () => guard(() => clear.run().changes),
  };
}
