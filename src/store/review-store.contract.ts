/**
 * One contract for every review-list backend (the embedded table and the
 * Qdrant collection), as vector-store.contract.ts is for the gallery.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isFacerecError } from '../errors.js';
import type { ReviewFaceInput, ReviewStore } from './review-store.js';
import { randomUnit, seededRandom } from './test-vectors.js';

export const REVIEW_CONTRACT_DIM = 8;

export interface ReviewContractTarget {
  readonly name: string;
  /** A fresh, empty review store (and whatever holds it open). */
  create(): Promise<{ review: ReviewStore; close(): Promise<void> }>;
  cleanup?(): Promise<void>;
}

const rnd = seededRandom(7);
const face = (trackId: number, extra: Partial<ReviewFaceInput> = {}): ReviewFaceInput => ({
  cameraId: 'door',
  trackId,
  firstSeenMs: 1000 * trackId,
  lastSeenMs: 1000 * trackId + 500,
  framesSeen: 12,
  crop: new Uint8Array([0xff, 0xd8, trackId, 0xff, 0xd9]),
  embedding: randomUnit(REVIEW_CONTRACT_DIM, rnd),
  ...extra,
});

const HOUR = 3_600_000;
const limits = { maxFaces: 3, maxAgeMs: 24 * HOUR };

export function runReviewStoreContract(target: ReviewContractTarget): void {
  describe(`review store contract: ${target.name}`, () => {
    after(async () => target.cleanup?.());

    it('keeps a face with its crop, embedding and nearest subject, and lists the newest first', async () => {
      const { review, close } = await target.create();
      try {
        const first = face(1, { nearestSubjectId: 'ada', nearestSimilarity: 0.31 });
        const id1 = await review.add(first, limits, 10 * HOUR);
        const id2 = await review.add(face(2), limits, 11 * HOUR);
        const listed = await review.list(limits, 12 * HOUR);
        assert.deepEqual(listed.map((f) => f.reviewId), [id2, id1]);
        const got = await review.get(id1);
        assert.deepEqual([got.cameraId, got.trackId, got.framesSeen, got.firstSeenMs, got.lastSeenMs, got.createdAtMs], ['door', 1, 12, 1000, 1500, 10 * HOUR]);
        assert.deepEqual([...got.crop], [...first.crop]);
        assert.ok(got.embedding.every((v, i) => Math.abs(v - first.embedding[i]!) < 1e-6));
        assert.equal(got.nearestSubjectId, 'ada');
        assert.ok(Math.abs(got.nearestSimilarity! - 0.31) < 1e-6);
        assert.equal(listed[0]!.nearestSubjectId, undefined);
      } finally {
        await close();
      }
    });

    it('is bounded by count (the oldest go first) and by age', async () => {
      const { review, close } = await target.create();
      try {
        const ids: string[] = [];
        for (let i = 1; i <= 5; i++) ids.push(await review.add(face(i), limits, i * HOUR));
        assert.deepEqual((await review.list(limits, 6 * HOUR)).map((f) => f.reviewId), [ids[4], ids[3], ids[2]]);
        // 24 h after the third was kept, it is too old.
        assert.deepEqual((await review.list(limits, 27 * HOUR + 1)).map((f) => f.reviewId), [ids[4], ids[3]]);
        await assert.rejects(review.get(ids[0]!), (e: unknown) => isFacerecError(e, 'REVIEW_FACE_NOT_FOUND'));
      } finally {
        await close();
      }
    });

    it('deletes one, or all, and says when there is nothing to delete', async () => {
      const { review, close } = await target.create();
      try {
        const [a, b] = [await review.add(face(1), limits, HOUR), await review.add(face(2), limits, HOUR)];
        await review.delete(a);
        await assert.rejects(review.get(a), (e: unknown) => isFacerecError(e, 'REVIEW_FACE_NOT_FOUND'));
        await assert.rejects(review.delete(a), (e: unknown) => isFacerecError(e, 'REVIEW_FACE_NOT_FOUND'));
        await assert.rejects(review.delete('not-an-id'), (e: unknown) => isFacerecError(e, 'REVIEW_FACE_NOT_FOUND'));
        assert.deepEqual((await review.list(limits, HOUR)).map((f) => f.reviewId), [b]);
        assert.equal(await review.deleteAll(), 1);
        assert.deepEqual(await review.list(limits, HOUR), []);
        assert.equal(await review.deleteAll(), 0);
      } finally {
        await close();
      }
    });
  });
}
