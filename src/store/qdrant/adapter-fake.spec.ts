/**
 * The VectorStore contract against QdrantVectorStore pointed at a FAKE Qdrant.
 *
 * test/support/fake-qdrant.ts is a test double of Qdrant's HTTP API, standing in
 * at a boundary that cannot run here (no Qdrant binary, no Docker, no network).
 * The adapter and the real @qdrant/js-client-rest run unchanged over real
 * HTTP; only the server is simulated, modelling the subset of Qdrant the adapter
 * uses with Qdrant's request/response shapes and semantics as read from its
 * source and API docs. It catches adapter logic and wire-shape mistakes, not
 * Qdrant behaviour the fake gets wrong. The real-Qdrant run (adapter.spec.ts with
 * QDRANT_URL set) remains the authority: where the two disagree, fix the fake.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { QdrantClient } from '@qdrant/js-client-rest';

import { startFakeQdrant, type FakeQdrant } from '../../../test/support/fake-qdrant.js';
import { recordingLogger } from '../../../test/support/recording-logger.js';
import { loadConfig } from '../../config/load.js';
import { isFacerecError } from '../../errors.js';
import { silentLogger } from '../../logger.js';
import { toPointUuid } from '../face-id.js';
import { randomUnit, seededRandom } from '../test-vectors.js';
import { CONTRACT_DIM, runVectorStoreContract } from '../vector-store.contract.js';
import { createVectorStore } from '../create-vector-store.js';
import { QdrantVectorStore } from './adapter.js';

let contractFake: Promise<FakeQdrant> | undefined;
let n = 0;
const connect = async (collection: string) => {
  const fake = await (contractFake ??= startFakeQdrant());
  return QdrantVectorStore.connect({ url: fake.url, collection, dimension: CONTRACT_DIM, logger: silentLogger });
};

runVectorStoreContract({
  name: 'QdrantVectorStore against a fake Qdrant (test double: real Qdrant cannot run here)',
  create: () => connect(`facerec_test_${n++}`),
  // The double keeps its collections while it runs, as a Qdrant server does
  // across restarts of facerec: a new adapter on the same collection is a restart.
  reopen: (name) => connect(`facerec_reopen_${name}`),
  // Every contract test must stay inside what the double models.
  afterEach: async () => assert.deepEqual((await contractFake)?.unmodelled ?? [], []),
  cleanup: async () => {
    await (await contractFake)?.close();
  },
});

describe('QdrantVectorStore against a fake Qdrant: beyond the contract', () => {
  let fake: FakeQdrant;
  let client: QdrantClient;
  const rnd = seededRandom(7);
  before(async () => {
    fake = await startFakeQdrant();
    client = new QdrantClient({ url: fake.url, checkCompatibility: false });
  });
  after(() => fake.close());

  it('refuses to reconnect to a collection of another dimension (STORE_CORRUPT)', async () => {
    const first = await QdrantVectorStore.connect({ url: fake.url, collection: 'restart', dimension: CONTRACT_DIM, logger: silentLogger });
    await first.upsertFaces([{ faceId: 'a1', subjectId: 'ada', embedding: randomUnit(CONTRACT_DIM, rnd), subjectPayload: { name: 'Ada' } }]);
    await first.close();
    await assert.rejects(
      QdrantVectorStore.connect({ url: fake.url, collection: 'restart', dimension: CONTRACT_DIM * 2, logger: silentLogger }),
      (err) => isFacerecError(err, 'STORE_CORRUPT'),
    );
    assert.deepEqual(fake.unmodelled, []);
  });

  it('creates every collection with the configured shard_number and replication_factor (default 1)', async () => {
    const layoutOf = async (name: string) => {
      const { shard_number, replication_factor } = (await client.getCollection(name)).config.params;
      return { shard_number, replication_factor };
    };
    const names = (collection: string) => [collection, `${collection}_subjects`, `${collection}_templates`];
    const env = { QDRANT_URL: fake.url, FACEREC_STORE__QDRANT_COLLECTION: 'spread', FACEREC_STORE__QDRANT_SHARD_NUMBER: '6', FACEREC_STORE__QDRANT_REPLICATION_FACTOR: '2' };
    const spread = await createVectorStore(loadConfig({ env }).store, { logger: silentLogger, dimension: CONTRACT_DIM });
    for (const name of names('spread')) assert.deepEqual(await layoutOf(name), { shard_number: 6, replication_factor: 2 }, name);
    await spread.close();
    const plain = await createVectorStore(loadConfig({ env: { QDRANT_URL: fake.url, FACEREC_STORE__QDRANT_COLLECTION: 'plain' } }).store, { logger: silentLogger, dimension: CONTRACT_DIM });
    for (const name of names('plain')) assert.deepEqual(await layoutOf(name), { shard_number: 1, replication_factor: 1 }, name);
    await plain.close();
    // An existing collection keeps its layout (Qdrant cannot reshard it in place); the server says so and serves.
    const log = recordingLogger();
    const reopened = await createVectorStore(loadConfig({ env: { ...env, FACEREC_STORE__QDRANT_COLLECTION: 'plain' } }).store, { logger: log.logger, dimension: CONTRACT_DIM });
    assert.deepEqual(await layoutOf('plain'), { shard_number: 1, replication_factor: 1 });
    const warning = log.entries.find((e) => e.level === 'warn' && /keeps its own layout/.test(e.message));
    assert.ok(warning, log.messages().join('\n'));
    assert.deepEqual([warning['shardNumber'], warning['configuredShardNumber'], warning['configuredReplicationFactor']], [1, 6, 2]);
    await reopened.close();
    assert.deepEqual(fake.unmodelled, []);
  });

  it('computes subject templates at connect for a gallery from before templates', async () => {
    const first = await QdrantVectorStore.connect({ url: fake.url, collection: 'pre_templates', dimension: CONTRACT_DIM, logger: silentLogger });
    const [a1, a2] = [randomUnit(CONTRACT_DIM, rnd), randomUnit(CONTRACT_DIM, rnd)];
    await first.upsertFaces([
      { faceId: 'a1', subjectId: 'ada', embedding: a1 },
      { faceId: 'a2', subjectId: 'ada', embedding: a2 },
    ]);
    await first.close();
    // What a gallery written before templates existed looks like.
    await client.deleteCollection('pre_templates_templates');
    const second = await QdrantVectorStore.connect({ url: fake.url, collection: 'pre_templates', dimension: CONTRACT_DIM, logger: silentLogger });
    assert.equal((await client.count('pre_templates_templates', { exact: true })).count, 1);
    const mean = a1.map((x, i) => x + a2[i]!);
    const norm = Math.hypot(...mean);
    const [match] = await second.search(mean.map((x) => x / norm), { k: 1, rankBy: 'subject' });
    assert.equal(match!.subjectId, 'ada');
    assert.ok(Math.abs(match!.similarity - 1) < 1e-4, 'the template is the mean of the two faces');
    assert.deepEqual(fake.unmodelled, []);
  });

  // These pin the fake's own fidelity decisions, so it does not drift from Qdrant.
  it('answers a missing collection with Qdrant’s 404 body', async () => {
    const res = await fetch(`${fake.url}/collections/nope/points/count`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 404);
    const body = (await res.json()) as { status: { error: string }; time: number };
    assert.deepEqual(body.status, { error: 'Not found: Collection `nope` doesn\'t exist!' });
    assert.equal(typeof body.time, 'number');
    assert.deepEqual(await client.collectionExists('nope'), { exists: false });
  });

  it('rejects a bad point id, a wrong vector size and a float match value with 400', async () => {
    await client.createCollection('wire', { vectors: { size: 2, distance: 'Cosine' } });
    const upsert = (body: unknown) =>
      fetch(`${fake.url}/collections/wire/points?wait=true`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const badId = await upsert({ points: [{ id: 'face-1', vector: [1, 0] }] });
    assert.equal(badId.status, 400);
    assert.match(((await badId.json()) as { status: { error: string } }).status.error, /not a valid point ID/);
    const badDim = await upsert({ points: [{ id: 1, vector: [1, 0, 0] }] });
    assert.equal(badDim.status, 400);
    assert.match(((await badDim.json()) as { status: { error: string } }).status.error, /expected dim: 2, got 3/);
    await assert.rejects(client.count('wire', { filter: { must: [{ key: 'x', match: { value: 1.5 } }] } }), /Bad Request/);
    await assert.rejects(client.createCollection('wire', { vectors: { size: 2, distance: 'Cosine' } }), /Conflict/);
  });

  it('scrolls by id with next_page_offset, merges set_payload per key, keeps scores strictly above the threshold', async () => {
    await client.createCollection('sem', { vectors: { size: 2, distance: 'Cosine' } });
    const ids = ['b', 'a', 'c'].map((s) => toPointUuid('t', s));
    await client.upsert('sem', {
      wait: true,
      points: [
        { id: ids[0]!, vector: [3, 0], payload: { tag: 'x', nested: { site: 'hq' }, keep: 1 } },
        { id: ids[1]!, vector: [0, 2], payload: { tag: 'y' } },
        { id: 7, vector: [1, 1], payload: { tag: ['x', 'z'] } },
        { id: ids[2]!, vector: [-1, 0] },
      ],
    });
    const sorted = [...ids].sort();
    const page1 = await client.scroll('sem', { limit: 2, with_payload: false });
    assert.deepEqual(page1.points, [{ id: 7 }, { id: sorted[0] }]);
    assert.equal(page1.next_page_offset, sorted[1]);
    const page2 = await client.scroll('sem', { limit: 2, offset: page1.next_page_offset!, with_payload: false });
    assert.deepEqual(page2.points.map((p) => p.id), sorted.slice(1));
    assert.equal(page2.next_page_offset, null);

    const tagged = await client.count('sem', { filter: { must: [{ key: 'tag', match: { value: 'x' } }] } });
    assert.equal(tagged.count, 2, 'a stored array matches any element');
    const nested = await client.count('sem', { filter: { should: [{ key: 'nested.site', match: { value: 'hq' } }, { must: [{ key: 'tag', match: { value: 'y' } }] }] } });
    assert.equal(nested.count, 2);
    assert.equal((await client.count('sem', { filter: { should: [] } })).count, 0);

    await client.setPayload('sem', { wait: true, payload: { nested: { floor: 2 }, keep: null }, filter: { must: [{ key: 'tag', match: { value: 'x' } }] } });
    const [b] = await client.retrieve('sem', { ids: [ids[0]!] });
    assert.deepEqual(b?.payload, { tag: 'x', nested: { floor: 2 } });

    const hits = await client.search('sem', { vector: [1, 0], limit: 10, with_payload: false });
    assert.equal(hits[0]?.id, ids[0]);
    assert.equal(hits[0]?.score, 1);
    assert.deepEqual((await client.search('sem', { vector: [1, 0], limit: 10, score_threshold: 1 })).map((h) => h.id), []);
    assert.deepEqual((await client.search('sem', { vector: [1, 0], limit: 10, score_threshold: 0.5 })).map((h) => h.id), [ids[0], 7]);
    assert.deepEqual(fake.unmodelled, []);
  });
});
