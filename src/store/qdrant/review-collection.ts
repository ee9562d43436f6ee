/**
 * The review list in Qdrant: one point per unknown face in
 * `<collection>_review` (cosine, the face's embedding), its crop base64 in the
 * payload. Entries are few (bounded by `maxFaces`), so pruning scrolls their
 * times and deletes by id, which needs no range filter.
 */
import { randomUUID } from 'node:crypto';
import type { QdrantClient } from '@qdrant/js-client-rest';
import { FacerecError } from '../../errors.js';
import type { ReviewFace, ReviewLimits, ReviewStore } from '../review-store.js';
import { splitByLimits } from '../review-store.js';

export function reviewCollectionOf(collection: string): string {
  return `${collection}_review`;
}

interface ReviewPayload {
  review_id: string;
  camera_id: string;
  track_id: number;
  first_seen_ms: number;
  last_seen_ms: number;
  frames_seen: number;
  crop_base64: string;
  nearest_subject_id: string | null;
  nearest_similarity: number | null;
  created_at_ms: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function toFace(payload: ReviewPayload, vector: unknown): ReviewFace {
  return {
    reviewId: payload.review_id,
    cameraId: payload.camera_id,
    trackId: payload.track_id,
    firstSeenMs: payload.first_seen_ms,
    lastSeenMs: payload.last_seen_ms,
    framesSeen: payload.frames_seen,
    crop: new Uint8Array(Buffer.from(payload.crop_base64, 'base64')),
    embedding: Float32Array.from((vector as number[] | undefined) ?? []),
    nearestSubjectId: payload.nearest_subject_id ?? undefined,
    nearestSimilarity: payload.nearest_similarity ?? undefined,
    createdAtMs: payload.created_at_ms,
  };
}

/** `guard` is the adapter's: Qdrant failures become STORE_UNAVAILABLE, logged with their cause. */
export async function openQdrantReviewStore(
  client: QdrantClient,
  collection: string,
  dimension: number,
  guard: <T>(operation: string, fn: () => Promise<T>) => Promise<T>,
): Promise<ReviewStore> {
  const name = reviewCollectionOf(collection);
  await guard('openReviewStore', async () => {
    if ((await client.collectionExists(name)).exists) return;
    try {
      await client.createCollection(name, { vectors: { size: dimension, distance: 'Cosine' } });
    } catch (error) {
      // Another replica created it first: fine.
      if (!(await client.collectionExists(name)).exists) throw error;
    }
  });

  /** Every point; `fields` limits the payload returned (pruning needs two small fields, not every crop). */
  const scrollAll = async (withVector: boolean, fields?: readonly (keyof ReviewPayload)[]) => {
    const points: Array<{ payload: ReviewPayload; vector: unknown }> = [];
    let offset: string | number | undefined;
    do {
      const withPayload = fields ? [...fields] : true;
      const page = await client.scroll(name, { limit: 256, with_payload: withPayload, with_vector: withVector, ...(offset !== undefined ? { offset } : {}) });
      for (const p of page.points) points.push({ payload: p.payload as unknown as ReviewPayload, vector: p.vector });
      const next = page.next_page_offset;
      offset = typeof next === 'string' || typeof next === 'number' ? next : undefined;
    } while (offset !== undefined);
    return points;
  };

  const prune = async (limits: ReviewLimits, nowMs: number) => {
    const entries = (await scrollAll(false, ['review_id', 'created_at_ms'])).map((p) => ({ reviewId: p.payload.review_id, createdAtMs: p.payload.created_at_ms }));
    const { dropped } = splitByLimits(entries, limits, nowMs);
    if (dropped.length > 0) await client.delete(name, { wait: true, points: dropped.map((d) => d.reviewId) });
  };

  const retrieve = async (reviewId: string) => {
    if (!UUID.test(reviewId)) return undefined;
    const [point] = await client.retrieve(name, { ids: [reviewId], with_payload: true, with_vector: true });
    return point;
  };

  const notFound = (reviewId: string) => new FacerecError('REVIEW_FACE_NOT_FOUND', reviewId, { details: { reviewId } });

  return {
    add: (face, limits, nowMs = Date.now()) =>
      guard('reviewAdd', async () => {
        const reviewId = randomUUID();
        const payload: ReviewPayload = {
          review_id: reviewId,
          camera_id: face.cameraId,
          track_id: face.trackId,
          first_seen_ms: face.firstSeenMs,
          last_seen_ms: face.lastSeenMs,
          frames_seen: face.framesSeen,
          crop_base64: Buffer.from(face.crop).toString('base64'),
          nearest_subject_id: face.nearestSubjectId ?? null,
          nearest_similarity: face.nearestSimilarity ?? null,
          created_at_ms: nowMs,
        };
        await client.upsert(name, { wait: true, points: [{ id: reviewId, vector: Array.from(face.embedding), payload: payload as unknown as Record<string, unknown> }] });
        await prune(limits, nowMs);
        return reviewId;
      }),
    list: (limits, nowMs = Date.now()) =>
      guard('reviewList', async () => {
        await prune(limits, nowMs);
        const faces = (await scrollAll(true)).map((p) => toFace(p.payload, p.vector));
        return splitByLimits(faces, limits, nowMs).kept;
      }),
    get: (reviewId) =>
      guard('reviewGet', async () => {
        const point = await retrieve(reviewId);
        if (!point) throw notFound(reviewId);
        return toFace(point.payload as unknown as ReviewPayload, point.vector);
      }),
    delete: (reviewId) =>
      guard('reviewDelete', async () => {
        if (!(await retrieve(reviewId))) throw notFound(reviewId);
        await client.delete(name, { wait: true, points: [reviewId] });
      }),
    deleteAll: () =>
      guard('reviewDeleteAll', async () => {
        const ids = (await scrollAll(false, ['review_id'])).map((p) => p.payload.review_id);
        if (ids.length > 0) await client.delete(name, { wait: true, points: ids });
        return ids.length;
      }),
  };
}
