/**
 * The review-list contract on the embedded store (a real SQLite file in a
 * temp directory) and on the Qdrant adapter against test/support/fake-qdrant.ts,
 * a TEST DOUBLE of Qdrant's HTTP API (real Qdrant cannot run here).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import Database from 'better-sqlite3';
import { startFakeQdrant, type FakeQdrant } from '../../test/support/fake-qdrant.js';
import { silentLogger } from '../logger.js';
import { EmbeddedVectorStore } from './embedded/embedded-vector-store.js';
import { QdrantVectorStore } from './qdrant/adapter.js';
import { REVIEW_CONTRACT_DIM, runReviewStoreContract } from './review-store.contract.js';

const hnsw = { connectivity: 16, expansionAdd: 64, expansionSearch: 0 };
const openEmbedded = (dataDir: string) => EmbeddedVectorStore.open({ dataDir, annThreshold: 10_000, hnsw, indexSaveEveryChanges: 1000, dimension: REVIEW_CONTRACT_DIM, logger: silentLogger });
const dirs: string[] = [];

runReviewStoreContract({
  name: 'EmbeddedVectorStore (SQLite table)',
  async create() {
    const dir = await mkdtemp(join(tmpdir(), 'facerec-review-'));
    dirs.push(dir);
    const store = openEmbedded(dir);
    return { review: await store.openReviewStore(), close: () => store.close() };
  },
  cleanup: async () => void (await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))),
});

let fake: Promise<FakeQdrant> | undefined;
let n = 0;
runReviewStoreContract({
  name: 'QdrantVectorStore against a fake Qdrant (test double)',
  async create() {
    const qdrant = await (fake ??= startFakeQdrant());
    const store = await QdrantVectorStore.connect({ url: qdrant.url, collection: `review_${n++}`, dimension: REVIEW_CONTRACT_DIM, logger: silentLogger });
    return {
      review: await store.openReviewStore(),
      close: async () => {
        assert.deepEqual(qdrant.unmodelled, [], 'the adapter stayed inside what the fake models');
        await store.close();
      },
    };
  },
  cleanup: async () => (await fake)?.close(),
});

it('a version-2 gallery gains an empty review list when opened', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'facerec-review-migrate-'));
  try {
    let store = openEmbedded(dir);
    await store.close();
    const db = new Database(join(dir, 'gallery.sqlite'));
    db.exec('DROP TABLE review_faces');
    db.pragma('user_version = 2');
    db.close();
    store = openEmbedded(dir);
    const review = await store.openReviewStore();
    assert.deepEqual(await review.list({ maxFaces: 10, maxAgeMs: 1e9 }), []);
    await store.close();
    const reopened = new Database(join(dir, 'gallery.sqlite'), { readonly: true });
    assert.equal(reopened.pragma('user_version', { simple: true }), 3);
    reopened.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
