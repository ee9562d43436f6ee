/**
 * The data directory lock, end to end, with the real server run as the
 * product runs it (`facerec serve`, from source) in child processes:
 *
 * - A server SIGKILLed with a gallery, restarted on the same DATA_DIR with a
 *   LOCK naming PID 1 (what a restarted container finds: the server is PID 1
 *   before and after), starts and serves that gallery.
 * - A second server on a DATA_DIR a live one holds exits at start-up with
 *   STORE_LOCKED and a message that says what to do.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { FacePolicy } from '../src/gen/facerec/v1/facerec.js';
import { LOCK_FILE } from '../src/store/embedded/data-dir-lock.js';
import { call, startTestServer } from './support/facerec-server.js';
import { photo } from './support/images.js';
import { ServerStartError, startServerProcess, type ServerProcess } from './support/server-process.js';

describe('DATA_DIR lock across real server processes', () => {
  const root = mkdtempSync(join(tmpdir(), 'facerec-restart-'));
  const running: ServerProcess[] = [];
  const start = async (dataDir: string) => {
    const server = await startServerProcess({ dataDir });
    running.push(server);
    return server;
  };
  after(async () => {
    for (const server of running) if (server.alive()) await server.stop('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it('a server killed with -9 restarts on its DATA_DIR with a LOCK naming PID 1 and serves its gallery', { timeout: 240_000 }, async () => {
    const dataDir = join(root, 'killed');
    const first = await start(dataDir);
    const enrolled = await call(first.client.enrollFace, first.client, { subjectId: 'ada', image: photo(1), payload: undefined, facePolicy: FacePolicy.FACE_POLICY_LARGEST });
    assert.equal(await first.stop('SIGKILL'), null);
    assert.equal(first.child.signalCode, 'SIGKILL');
    // What a restarted container finds: a LOCK naming PID 1, which is alive (it is the new server).
    writeFileSync(join(dataDir, LOCK_FILE), '1\n');

    const second = await start(dataDir);
    const subject = await call(second.client.getSubject, second.client, { subjectId: 'ada' });
    assert.deepEqual(subject.faceIds, [enrolled.faceId], 'the acknowledged enrolment survived the kill');
    const again = await call(second.client.enrollFace, second.client, { subjectId: 'ada', image: photo(1), payload: undefined, facePolicy: FacePolicy.FACE_POLICY_LARGEST });
    assert.equal(again.duplicate, true, 'the restarted server writes to the same gallery');
    assert.equal(await second.stop(), 0, 'and stops cleanly');
  });

  it('a second server on a DATA_DIR in use exits with STORE_LOCKED saying what to do', { timeout: 240_000 }, async () => {
    const dataDir = join(root, 'shared');
    const first = await start(dataDir);
    await assert.rejects(startServerProcess({ dataDir }), (error: unknown) => {
      assert.ok(error instanceof ServerStartError);
      assert.equal(error.exitCode, 1, 'the second server refuses to start');
      assert.match(error.output, /STORE_LOCKED/);
      assert.match(error.output, new RegExp(`${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by another facerec process \\(LOCK names pid ${first.pid} `));
      assert.match(error.output, /stop it or point DATA_DIR elsewhere/);
      return true;
    });
    // The first is unharmed by the attempt.
    assert.equal((await call(first.client.getInfo, first.client, {})).storeBackend, 'embedded');
    assert.equal(await first.stop(), 0);
  });

  it('a start that fails after the store opened gives the DATA_DIR back', async () => {
    const dataDir = join(root, 'failed-start');
    const noModels = mkdtempSync(join(root, 'no-models-'));
    await assert.rejects(startTestServer({ pipeline: { modelsDir: noModels } }, dataDir));
    // Same process, same DATA_DIR: not STORE_LOCKED.
    const server = await startTestServer({}, dataDir);
    await server.stop();
  });
});
