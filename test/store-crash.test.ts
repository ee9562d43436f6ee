/**
 * Like Qdrant's wal_recovery_test: a writer is SIGKILLed mid-stream; after
 * reopening, every acknowledged write is there, every acknowledged delete is
 * gone (also from search), and the store opens cleanly (the LOCK note the
 * killed writer left is no obstacle; the HNSW index it saved in the background
 * is loaded and the changes since replayed).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { isFacerecError } from '../src/errors.js';
import { EmbeddedVectorStore } from '../src/store/index.js';
import { readLockHolder } from '../src/store/embedded/data-dir-lock.js';
import { recordingLogger } from './support/recording-logger.js';
import { crashFace, CRASH_STORE_OPTIONS } from './fixtures/store-crash-shared.js';

const WRITER = fileURLToPath(new URL('./fixtures/store-crash-writer.ts', import.meta.url));

/**
 * acked: writes acknowledged and not deleted since; deleted: deletes acknowledged;
 * inDoubt: a delete started but not acknowledged when the kill landed, so the
 * face may or may not be there afterwards (both are correct).
 */
async function runAndKill(dataDir: string, firstFace: number, killAfterAcks: number): Promise<{ acked: Set<string>; deleted: Set<string>; inDoubt: Set<string>; pid: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dataDir, String(firstFace)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acked = new Set<string>();
  const deleted = new Set<string>();
  const inDoubt = new Set<string>();
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  for await (const line of createInterface({ input: child.stdout })) {
    const [kind, id] = line.split(' ');
    if (kind === 'ack') acked.add(id!);
    if (kind === 'deleting') {
      acked.delete(id!);
      inDoubt.add(id!);
    }
    if (kind === 'del') {
      inDoubt.delete(id!);
      deleted.add(id!);
    }
    if (acked.size + deleted.size >= killAfterAcks && child.exitCode === null && !child.killed) child.kill('SIGKILL');
  }
  assert.equal(await exited, 'SIGKILL', 'the writer died by SIGKILL, not on its own');
  assert.ok(inDoubt.size <= 1, 'the writer has at most one delete in flight');
  return { acked, deleted, inDoubt, pid: child.pid! };
}

describe('embedded store survives SIGKILL of a writer', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'facerec-crash-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps every acknowledged write across two crashes', { timeout: 120_000 }, async () => {
    const acked = new Set<string>();
    const deleted = new Set<string>();
    const inDoubt = new Set<string>();
    for (const [firstFace, killAfter] of [[0, 90], [10_000, 60]] as const) {
      const run = await runAndKill(dataDir, firstFace, killAfter);
      assert.equal(readLockHolder(dataDir)?.pid, run.pid, 'the killed writer left its LOCK note behind');
      for (const id of run.acked) acked.add(id);
      for (const id of run.deleted) {
        acked.delete(id);
        deleted.add(id);
      }
      for (const id of run.inDoubt) inDoubt.add(id);
    }
    const log = recordingLogger();
    const store = EmbeddedVectorStore.open({ ...CRASH_STORE_OPTIONS, dataDir, logger: log.logger });
    try {
      assert.equal((await store.stats()).searchMode, 'hnsw');
      assert.ok(log.messages('info').includes('store: HNSW index loaded'), 'the writer saved its index in the background before the kill');
      for (const faceId of acked) {
        const face = await store.getFace(faceId);
        const i = Number(faceId.slice('crash-'.length));
        assert.equal(face.subjectId, crashFace(i).subjectId);
        const [hit] = await store.search(crashFace(i).embedding, { k: 1 });
        assert.equal(hit?.faceId, faceId, `${faceId} is found by its own embedding`);
      }
      for (const faceId of deleted) {
        await assert.rejects(store.getFace(faceId), (err) => isFacerecError(err, 'FACE_NOT_FOUND'));
        const i = Number(faceId.slice('crash-'.length));
        const hits = await store.search(crashFace(i).embedding, { k: 5 });
        assert.ok(hits.every((h) => h.faceId !== faceId), `${faceId} was deleted and must never match`);
      }
      // A delete in doubt either landed or did not: the record and the index agree.
      for (const faceId of inDoubt) {
        const i = Number(faceId.slice('crash-'.length));
        const present = await store.getFace(faceId).then(() => true, () => false);
        const hits = await store.search(crashFace(i).embedding, { k: 5 });
        assert.equal(hits.some((h) => h.faceId === faceId), present, `${faceId}: record and index disagree`);
      }
      assert.ok(acked.size > 100);
    } finally {
      await store.close();
    }
  });
});
