import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import Database from 'better-sqlite3';

import { silentLogger } from '../../logger.js';
import { recordingLogger } from '../../../test/support/recording-logger.js';
import { randomUnit, seededRandom } from '../test-vectors.js';
import { EmbeddedVectorStore } from './embedded-vector-store.js';

const DIM = 32;
const hnsw = { connectivity: 16, expansionAdd: 64, expansionSearch: 64 };

describe('embedded store across restarts', () => {
  const root = mkdtempSync(join(tmpdir(), 'facerec-restart-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const rnd = seededRandom(7);
  let n = 0;
  const newDir = () => join(root, `d${n++}`);
  const open = (dataDir: string, annThreshold: number, indexSaveEveryChanges = 1000) =>
    EmbeddedVectorStore.open({ dataDir, annThreshold, hnsw, indexSaveEveryChanges, dimension: DIM, logger: silentLogger });
  const faces = (count: number, prefix = 'f') =>
    Array.from({ length: count }, (_, i) => ({ faceId: `${prefix}${i}`, subjectId: `s${i % 10}`, embedding: randomUnit(DIM, rnd) }));

  for (const [mode, threshold] of [['exact', 10_000], ['hnsw', 50]] as const) {
    it(`${mode}: keeps writes and deletes after reopen`, async () => {
      const dir = newDir();
      const batch = faces(120);
      let store = open(dir, threshold);
      await store.upsertFaces(batch);
      await store.deleteFace('f3');
      await store.deleteSubject('s9');
      await store.close();
      store = open(dir, threshold);
      assert.equal((await store.stats()).searchMode, mode);
      assert.equal(await store.count(), 120 - 1 - 12);
      for (const face of batch) {
        const [hit] = await store.search(face.embedding, { k: 1 });
        const gone = face.faceId === 'f3' || face.subjectId === 's9';
        if (gone) assert.notEqual(hit?.faceId, face.faceId, `${face.faceId} was deleted`);
        else assert.equal(hit?.faceId, face.faceId);
      }
      await store.close();
    });
  }

  it('crosses the ANN threshold while running and saves the index', async () => {
    const dir = newDir();
    const store = open(dir, 30);
    await store.upsertFaces(faces(20));
    assert.equal((await store.stats()).searchMode, 'exact');
    await store.upsertFaces(faces(20, 'g'));
    assert.equal((await store.stats()).searchMode, 'hnsw');
    const saved = () => readdirSync(dir).some((f) => /^index-\d+\.usearch$/.test(f));
    assert.equal(saved(), false, 'the save is not part of the write that crossed the threshold');
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(saved(), 'it runs on the next turn of the event loop');
    await store.close();
  });

  it('rebuilds a damaged index file instead of loading it', async () => {
    const dir = newDir();
    const batch = faces(80);
    let store = open(dir, 50);
    await store.upsertFaces(batch);
    await store.close();
    const file = readdirSync(dir).find((f) => f.endsWith('.usearch'))!;
    writeFileSync(join(dir, file), 'not an index');
    const log = recordingLogger();
    store = EmbeddedVectorStore.open({ dataDir: dir, annThreshold: 50, hnsw, indexSaveEveryChanges: 1000, dimension: DIM, logger: log.logger });
    const rebuild = log.entries.find((e) => /rebuilding/.test(e.message));
    assert.equal(rebuild?.level, 'warn', 'a damaged file is worth a warning');
    assert.match(String(rebuild?.reason), /checksum|wrong size/);
    const [hit] = await store.search(batch[5]!.embedding, { k: 1 });
    assert.equal(hit?.faceId, 'f5');
    await store.close();
  });

  it('falls back to exact search when the gallery shrinks below the threshold', async () => {
    const dir = newDir();
    let store = open(dir, 50);
    await store.upsertFaces(faces(60));
    for (let s = 0; s < 5; s++) await store.deleteSubject(`s${s}`);
    await store.close();
    store = open(dir, 50);
    assert.equal((await store.stats()).searchMode, 'exact');
    assert.equal(readdirSync(dir).filter((f) => f.endsWith('.usearch')).length, 0);
    await store.close();
  });

  it('gives a gallery from before subject templates (schema 1) its templates at open, and rebuilds templates found out of step', async () => {
    const dir = newDir();
    const [a1, a2] = [randomUnit(DIM, rnd), randomUnit(DIM, rnd)];
    let store = open(dir, 10_000);
    await store.upsertFaces([
      { faceId: 'a1', subjectId: 'ada', embedding: a1 },
      { faceId: 'a2', subjectId: 'ada', embedding: a2 },
      { faceId: 'b1', subjectId: 'bob', embedding: randomUnit(DIM, rnd) },
    ]);
    await store.close();
    const mean = a1.map((x, i) => x + a2[i]!);
    const norm = Math.hypot(...mean);
    const query = mean.map((x) => x / norm);
    const templateMatch = async () => (await store.search(query, { k: 1, rankBy: 'subject' }))[0]!;

    // Schema 1 had no templates table.
    let db = new Database(join(dir, 'gallery.sqlite'));
    db.exec('DROP TABLE templates');
    db.pragma('user_version = 1');
    db.close();
    store = open(dir, 10_000);
    assert.equal((await templateMatch()).subjectId, 'ada');
    assert.ok(Math.abs((await templateMatch()).similarity - 1) < 1e-4);
    await store.close();

    // A template row lost or stale (a hand-edited database): rebuilt from the faces, and said so.
    db = new Database(join(dir, 'gallery.sqlite'));
    db.exec("DELETE FROM templates WHERE subject_id = 'ada'");
    db.close();
    const recorded = recordingLogger();
    store = EmbeddedVectorStore.open({ dataDir: dir, annThreshold: 10_000, hnsw, indexSaveEveryChanges: 1000, dimension: DIM, logger: recorded.logger });
    assert.ok(recorded.messages('warn').some((m) => /templates were out of step/.test(m)));
    assert.ok(Math.abs((await templateMatch()).similarity - 1) < 1e-4);
    await store.close();
  });
});
