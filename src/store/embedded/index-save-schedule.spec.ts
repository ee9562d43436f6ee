import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { recordingLogger, type RecordingLogger } from '../../../test/support/recording-logger.js';
import { randomUnit, seededRandom } from '../test-vectors.js';
import { EmbeddedVectorStore } from './embedded-vector-store.js';

const DIM = 16;
const SAVE_EVERY = 5;
const hnsw = { connectivity: 16, expansionAdd: 64, expansionSearch: 64 };
const SAVE_FAILED = /^store: index save failed/;

/** One turn of the event loop: when a save asked for by a write runs. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('embedded index saves run after the write, and a failed one fails no write', () => {
  const root = mkdtempSync(join(tmpdir(), 'facerec-index-save-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const rnd = seededRandom(5);
  let n = 0;
  const face = (i: number) => ({ faceId: `f${i}`, subjectId: `s${i % 3}`, embedding: randomUnit(DIM, rnd) });
  const open = (dataDir: string, log: RecordingLogger) =>
    // annThreshold 1: HNSW from the first face, so every save writes a graph file.
    EmbeddedVectorStore.open({ dataDir, annThreshold: 1, hnsw, indexSaveEveryChanges: SAVE_EVERY, dimension: DIM, logger: log.logger });
  const savedFiles = (dir: string) => readdirSync(dir).filter((f) => /^index-\d+\.usearch$/.test(f));
  /**
   * A directory where the next saves' temporary files would go makes them fail
   * the way a full disk would, even for root (who ignores permission bits).
   * Each change to the gallery adds one to the sequence number in the name.
   */
  const blockSaves = (dir: string) => {
    for (let seq = 1; seq <= 100; seq++) if (!existsSync(join(dir, `index-${seq}.usearch`))) mkdirSync(join(dir, `index-${seq}.usearch.tmp`));
  };
  const unblockSaves = (dir: string) => {
    for (const name of readdirSync(dir)) if (name.endsWith('.usearch.tmp')) rmSync(join(dir, name), { recursive: true });
  };

  it('coalesces the saves asked for before it runs into one', async () => {
    const dir = join(root, `d${n++}`);
    const log = recordingLogger();
    const store = open(dir, log);
    const faces = Array.from({ length: 3 * SAVE_EVERY }, (_, i) => face(i));
    // Awaiting a resolved write yields to microtasks only: the loop never reaches the save.
    for (const f of faces) await store.upsertFaces([f]);
    assert.deepEqual(savedFiles(dir), [], 'no write saved the index itself');
    await nextTurn();
    assert.equal(log.messages('debug').filter((m) => m === 'store: index saved').length, 1);
    assert.equal(savedFiles(dir).length, 1);
    await store.close();
  });

  it('a failed save is logged, leaves the write acknowledged and searchable, and is retried later', async () => {
    const dir = join(root, `d${n++}`);
    const log = recordingLogger();
    const store = open(dir, log);
    await store.upsertFaces([face(0)]);
    await nextTurn();
    assert.equal(savedFiles(dir).length, 1, 'the first graph was saved');

    blockSaves(dir);
    const written = Array.from({ length: SAVE_EVERY }, (_, i) => face(i + 1));
    for (const f of written) await store.upsertFaces([f]); // the last one crosses the save threshold
    await nextTurn();
    const failures = () => log.entries.filter((e) => e.level === 'error' && SAVE_FAILED.test(e.message));
    assert.equal(failures().length, 1, 'the failed save was logged');
    assert.match(String(failures()[0]!.cause), /directory/i, 'with its cause');
    for (const f of written) assert.equal((await store.search(f.embedding, { k: 1 }))[0]?.faceId, f.faceId);
    assert.equal(await store.count(), 1 + SAVE_EVERY);

    // Not retried on every write that follows, only after another SAVE_EVERY changes.
    for (let i = 0; i < SAVE_EVERY - 1; i++) await store.upsertFaces([face(100 + i)]);
    await nextTurn();
    assert.equal(failures().length, 1);
    await store.upsertFaces([face(200)]);
    await nextTurn();
    assert.equal(failures().length, 2, 'retried at the next threshold');

    // Once the disk is usable again, close() saves what the failed saves did not.
    unblockSaves(dir);
    await store.close();
    const reopenLog = recordingLogger();
    const reopened = open(dir, reopenLog);
    const loaded = reopenLog.entries.find((e) => e.message === 'store: HNSW index loaded');
    assert.equal(loaded?.replayedChanges, 0, 'the file saved on close holds every change');
    for (const f of written) assert.equal((await reopened.search(f.embedding, { k: 1 }))[0]?.faceId, f.faceId);
    await reopened.close();
  });

  it('a save that fails on close is logged, and the next start replays what it missed', async () => {
    const dir = join(root, `d${n++}`);
    const log = recordingLogger();
    const store = open(dir, log);
    await store.upsertFaces([face(0)]);
    await nextTurn();
    blockSaves(dir);
    const written = [face(1), face(2)];
    await store.upsertFaces(written);
    await store.close();
    assert.ok(log.entries.some((e) => e.level === 'error' && SAVE_FAILED.test(e.message)));

    // close() still let go of the directory, and the change log covers the unsaved writes.
    const reopenLog = recordingLogger();
    const reopened = open(dir, reopenLog);
    const loaded = reopenLog.entries.find((e) => e.message === 'store: HNSW index loaded');
    assert.equal(loaded?.replayedChanges, written.length);
    for (const f of written) assert.equal((await reopened.search(f.embedding, { k: 1 }))[0]?.faceId, f.faceId);
    await reopened.close();
  });
});
