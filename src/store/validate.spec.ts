import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { startFakeQdrant } from '../../test/support/fake-qdrant.js';
import { isFacerecError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { EmbeddedVectorStore } from './embedded/embedded-vector-store.js';
import { QdrantVectorStore } from './qdrant/adapter.js';
import { randomUnit, seededRandom } from './test-vectors.js';
import {
  checkFilter,
  checkPayload,
  checkSearch,
  MAX_FILTER_KEYS,
  MAX_FILTER_VALUE_LENGTH,
  MAX_PAYLOAD_BYTES,
  MAX_PAYLOAD_DEPTH,
  normaliseFaces,
} from './validate.js';
import type { VectorStore } from './vector-store.js';

const DIM = 16;
const rnd = seededRandom(11);
const invalid = (pattern: RegExp) => (error: unknown) => isFacerecError(error, 'INVALID_ARGUMENT') && pattern.test(error.message);

/** `{"note":"xxx…"}` of exactly `bytes` bytes of JSON. */
function payloadOf(bytes: number, fill = 'x'): Record<string, string> {
  const overhead = JSON.stringify({ note: '' }).length;
  return { note: fill.repeat((bytes - overhead) / Buffer.byteLength(fill)) };
}

/** Objects nested `depth` levels deep, the outermost being level 1. */
function nested(depth: number, leaf: unknown = 1): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf };
  for (let level = 1; level < depth; level++) value = { inner: value };
  return value;
}

function filterWith(keys: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, 'v']));
}

describe('checkPayload', () => {
  it('takes a payload of exactly MAX_PAYLOAD_BYTES of JSON and refuses one byte more', () => {
    assert.equal(JSON.stringify(payloadOf(MAX_PAYLOAD_BYTES)).length, MAX_PAYLOAD_BYTES);
    assert.ok(checkPayload(payloadOf(MAX_PAYLOAD_BYTES), 'payload'));
    assert.throws(() => checkPayload(payloadOf(MAX_PAYLOAD_BYTES + 1), 'payload'), invalid(new RegExp(`payload is ${MAX_PAYLOAD_BYTES + 1} bytes as JSON, the limit is ${MAX_PAYLOAD_BYTES}`)));
  });

  it('counts UTF-8 bytes, not characters', () => {
    const accented = payloadOf(MAX_PAYLOAD_BYTES, 'é'); // 2 bytes each
    assert.ok(checkPayload(accented, 'payload'));
    assert.throws(() => checkPayload({ ...accented, x: 'é' }, 'payload'), invalid(/bytes as JSON/));
  });

  it(`takes ${MAX_PAYLOAD_DEPTH} levels of objects or arrays and refuses ${MAX_PAYLOAD_DEPTH + 1}`, () => {
    assert.ok(checkPayload(nested(MAX_PAYLOAD_DEPTH), 'payload'));
    assert.ok(checkPayload(nested(MAX_PAYLOAD_DEPTH - 1, [1, 2]), 'payload'), 'an array counts as a level');
    assert.throws(() => checkPayload(nested(MAX_PAYLOAD_DEPTH + 1), 'payload'), invalid(new RegExp(`more than ${MAX_PAYLOAD_DEPTH} levels deep`)));
    assert.throws(() => checkPayload(nested(MAX_PAYLOAD_DEPTH, [1]), 'payload'), invalid(/levels deep/));
  });

  it('refuses a cycle, a ten-thousand-level nesting and a BigInt as INVALID_ARGUMENT, not a crash', () => {
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    assert.throws(() => checkPayload(cycle, 'payload'), invalid(/levels deep/));
    assert.throws(() => checkPayload(nested(10_000), 'payload'), invalid(/levels deep/));
    assert.throws(() => checkPayload({ n: 1n }, 'payload'), invalid(/must be a JSON object/));
  });

  it('applies to face and subject payloads alike when faces are upserted', () => {
    const face = { faceId: 'f', subjectId: 's', embedding: randomUnit(DIM, rnd) };
    assert.throws(() => normaliseFaces([{ ...face, payload: payloadOf(MAX_PAYLOAD_BYTES + 1) }], DIM), invalid(/face 0 payload is/));
    assert.throws(() => normaliseFaces([{ ...face, subjectPayload: nested(MAX_PAYLOAD_DEPTH + 1) }], DIM), invalid(/face 0 subjectPayload nests/));
  });
});

describe('checkFilter', () => {
  it(`takes ${MAX_FILTER_KEYS} fields and refuses ${MAX_FILTER_KEYS + 1} or ten thousand`, () => {
    assert.equal(Object.keys(checkFilter(filterWith(MAX_FILTER_KEYS))!).length, MAX_FILTER_KEYS);
    assert.throws(() => checkFilter(filterWith(MAX_FILTER_KEYS + 1)), invalid(new RegExp(`filter has ${MAX_FILTER_KEYS + 1} fields, the limit is ${MAX_FILTER_KEYS}`)));
    assert.throws(() => checkFilter(filterWith(10_000)), invalid(/filter has 10000 fields/));
  });

  it(`takes string values up to ${MAX_FILTER_VALUE_LENGTH} characters`, () => {
    assert.ok(checkFilter({ name: 'a'.repeat(MAX_FILTER_VALUE_LENGTH) }));
    assert.throws(() => checkFilter({ name: 'a'.repeat(MAX_FILTER_VALUE_LENGTH + 1) }), invalid(new RegExp(`is ${MAX_FILTER_VALUE_LENGTH + 1} characters, the limit is ${MAX_FILTER_VALUE_LENGTH}`)));
  });

  it('keeps refused values out of the message whatever their size', () => {
    assert.throws(
      () => checkFilter({ name: { long: 'x'.repeat(100_000) } }),
      (error: unknown) => invalid(/got an object for name/)(error) && (error as Error).message.length < 200,
    );
  });

  it('gives undefined for no filter and an empty one; checkSearch uses it', () => {
    assert.equal(checkFilter(undefined), undefined);
    assert.equal(checkFilter({}), undefined);
    assert.throws(() => checkSearch(randomUnit(DIM, rnd), { k: 1, filter: filterWith(MAX_FILTER_KEYS + 1) }, DIM), invalid(/fields, the limit/));
  });
});

/** Both backends call these checks: the same refusals from each, before anything is written. */
async function refusesOversizedInput(store: VectorStore): Promise<void> {
  const embedding = randomUnit(DIM, rnd);
  await store.upsertFaces([{ faceId: 'a1', subjectId: 'ada', embedding, subjectPayload: { name: 'Ada' } }]);
  await assert.rejects(store.upsertFaces([{ faceId: 'a2', subjectId: 'ada', embedding, subjectPayload: payloadOf(MAX_PAYLOAD_BYTES + 1) }]), invalid(/subjectPayload is/));
  await assert.rejects(store.upsertFaces([{ faceId: 'a2', subjectId: 'ada', embedding, payload: nested(MAX_PAYLOAD_DEPTH + 1) }]), invalid(/levels deep/));
  await assert.rejects(store.updateSubject('ada', payloadOf(MAX_PAYLOAD_BYTES + 1)), invalid(/payload is/));
  await assert.rejects(store.updateSubject('ada', nested(MAX_PAYLOAD_DEPTH + 1)), invalid(/levels deep/));
  assert.deepEqual((await store.getSubject('ada')).payload, { name: 'Ada' });
  assert.equal(await store.count(), 1);
  await assert.rejects(store.search(embedding, { k: 1, filter: filterWith(10_000) }), invalid(/filter has 10000 fields/));
  // The largest allowed values go through.
  await store.updateSubject('ada', payloadOf(MAX_PAYLOAD_BYTES));
  assert.equal((await store.search(embedding, { k: 1, filter: filterWith(MAX_FILTER_KEYS) })).length, 0);
  assert.equal((await store.search(embedding, { k: 1 }))[0]?.subjectPayload['note'], payloadOf(MAX_PAYLOAD_BYTES)['note']);
}

describe('both backends enforce the limits', () => {
  it('EmbeddedVectorStore', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'facerec-validate-'));
    const store = EmbeddedVectorStore.open({
      dataDir,
      annThreshold: 1000,
      hnsw: { connectivity: 16, expansionAdd: 64, expansionSearch: 64 },
      indexSaveEveryChanges: 1000,
      dimension: DIM,
      logger: silentLogger,
    });
    try {
      await refusesOversizedInput(store);
    } finally {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('QdrantVectorStore (against the fake Qdrant)', async () => {
    const fake = await startFakeQdrant();
    try {
      const store = await QdrantVectorStore.connect({ url: fake.url, collection: 'limits', dimension: DIM, logger: silentLogger });
      await refusesOversizedInput(store);
      await store.close();
      assert.deepEqual(fake.unmodelled, []);
    } finally {
      await fake.close();
    }
  });
});
