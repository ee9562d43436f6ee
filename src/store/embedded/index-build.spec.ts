import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { createLogger } from '../../logger.js';
import { randomUnit, seededRandom } from '../test-vectors.js';
import { EmbeddedVectorStore } from './embedded-vector-store.js';

const DIM = 32;
const hnsw = { connectivity: 32, expansionAdd: 128, expansionSearch: 0 };
const THRESHOLD = 1500; // above the size built at once, so the build runs in the background

describe('crossing the ANN threshold builds the HNSW index in the background', () => {
  const root = mkdtempSync(join(tmpdir(), 'facerec-index-build-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const rnd = seededRandom(11);
  let n = 0;
  const open = (logs: string[] = []) =>
    EmbeddedVectorStore.open({
      dataDir: join(root, `d${n}`),
      annThreshold: THRESHOLD,
      hnsw,
      indexSaveEveryChanges: 100_000,
      dimension: DIM,
      logger: createLogger('debug', (line) => logs.push((JSON.parse(line) as { message: string }).message)),
    });
  const faces = (count: number, prefix: string) =>
    Array.from({ length: count }, (_, i) => ({ faceId: `${prefix}${i}`, subjectId: `s${i % 50}`, embedding: randomUnit(DIM, rnd) }));

  it('keeps answering exactly during the build, takes writes made meanwhile, then saves the graph', async () => {
    n++;
    const logs: string[] = [];
    const store = open(logs);
    const initial = faces(THRESHOLD, 'a');
    await store.upsertFaces(initial);
    assert.equal((await store.stats()).searchMode, 'exact', 'the crossing write returns before the graph is built');
    assert.ok(logs.some((m) => /building HNSW index in the background/.test(m)));

    // Writes while the build runs: a changed face, a deleted face, a deleted subject, new faces.
    const moved = { ...initial[10]!, embedding: randomUnit(DIM, rnd) };
    await store.upsertFaces([moved]);
    await store.deleteFace('a20');
    await store.deleteSubject('s7');
    const later = faces(60, 'b'); // keeps the gallery above the threshold after the deletes
    for (const face of later) await store.upsertFaces([face]);
    const [during] = await store.search(moved.embedding, { k: 1 });
    assert.equal(during?.faceId, 'a10');

    await store.indexReady();
    assert.equal((await store.stats()).searchMode, 'hnsw');
    const check = async (label: string, s: EmbeddedVectorStore) => {
      assert.equal((await s.search(moved.embedding, { k: 1 }))[0]?.faceId, 'a10', `${label}: the moved face is found at its new place`);
      assert.notEqual((await s.search(initial[10]!.embedding, { k: 1 }))[0]?.similarity, 1, `${label}: its old embedding is gone`);
      for (const face of [...initial, ...later]) {
        const hits = await s.search(face.embedding, { k: 1, minSimilarity: 0.9999 });
        const gone = face.faceId === 'a20' || (face.faceId.startsWith('a') && face.subjectId === 's7') || face.faceId === 'a10';
        if (gone) assert.equal(hits.length, 0, `${label}: ${face.faceId} was deleted or moved`);
        else assert.equal(hits[0]?.faceId, face.faceId, `${label}: ${face.faceId}`);
      }
    };
    await check('after the build', store);
    await store.close();

    const reopenLogs: string[] = [];
    const reopened = open(reopenLogs);
    assert.ok(reopenLogs.some((m) => /HNSW index loaded/.test(m)), 'the built graph was saved');
    await check('after reopening', reopened);
    await reopened.close();
  });

  it('a writer that never yields to the event loop still drives the build to the end', async () => {
    n++;
    const store = open();
    await store.upsertFaces(faces(THRESHOLD, 'a'));
    // Each awaited write resolves as a microtask: no background step can run in between.
    let writes = 0;
    while ((await store.stats()).searchMode === 'exact') {
      await store.upsertFaces(faces(1, `w${writes++}-`));
      assert.ok(writes <= THRESHOLD, 'the build never finished');
    }
    assert.ok(writes <= THRESHOLD / 2 + 1, `${writes} writes to finish`);
    await store.close();
  });

  it('closing during the build drops it; the next open serves exact search at once and rebuilds behind', async () => {
    n++;
    const store = open();
    const initial = faces(THRESHOLD, 'a');
    await store.upsertFaces(initial);
    await store.close();
    await store.indexReady(); // resolves on close
    const logs: string[] = [];
    const reopened = open(logs);
    assert.ok(logs.some((m) => /rebuilding HNSW index/.test(m)));
    assert.equal((await reopened.stats()).searchMode, 'exact');
    assert.equal((await reopened.search(initial[5]!.embedding, { k: 1 }))[0]?.faceId, 'a5');
    await reopened.indexReady();
    assert.equal((await reopened.stats()).searchMode, 'hnsw');
    assert.equal((await reopened.search(initial[5]!.embedding, { k: 1 }))[0]?.faceId, 'a5');
    await reopened.close();
    const again: string[] = [];
    const third = open(again);
    assert.ok(again.some((m) => /HNSW index loaded/.test(m)), 'the rebuilt graph was saved');
    await third.close();
  });
});
