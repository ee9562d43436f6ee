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
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { credentials } from '@grpc/grpc-js';

import { FacePolicy, FaceRecognitionClient } from '../src/gen/facerec/v1/facerec.js';
import { packageRoot } from '../src/package-root.js';
import { LOCK_FILE } from '../src/store/embedded/data-dir-lock.js';
import { call } from './support/facerec-server.js';
import { photo } from './support/images.js';

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

interface ServerProcess {
  readonly child: ChildProcessByStdio<null, null, Readable>;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** The gRPC port from the "facerec serving" log line; rejects if the server exits first. */
  readonly serving: Promise<number>;
  /** Everything the server wrote to stderr (its JSON log lines) so far. */
  stderr(): string;
}

function serve(dataDir: string, timeoutMs = 90_000): ServerProcess {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('OTEL_') && !key.startsWith('FACEREC_')));
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve'], {
    cwd: packageRoot(),
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...env, DATA_DIR: dataDir, GRPC_PORT: '0', REST_PORT: '0', METRICS_PORT: '0', FACEREC_LOG_LEVEL: 'info' },
  });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const serving = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not serve within ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderr += `${line}\n`;
      if (!line.includes('"facerec serving"')) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { grpcPort: number }).grpcPort);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (code ${code}) before serving:\n${stderr}`));
    });
  });
  serving.catch(() => {}); // a server expected to refuse is never awaited for its port
  return { child, exited, serving, stderr: () => stderr };
}

async function stop(server: ServerProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill(signal);
  return server.exited;
}

function clientOf(port: number): FaceRecognitionClient {
  return new FaceRecognitionClient(`127.0.0.1:${port}`, credentials.createInsecure());
}

describe('DATA_DIR lock across real server processes', () => {
  const root = mkdtempSync(join(tmpdir(), 'facerec-restart-'));
  const running: ServerProcess[] = [];
  const start = (dataDir: string) => {
    const server = serve(dataDir);
    running.push(server);
    return server;
  };
  after(async () => {
    for (const server of running) await stop(server, 'SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it('a server killed with -9 restarts on its DATA_DIR with a LOCK naming PID 1 and serves its gallery', { timeout: 240_000 }, async () => {
    const dataDir = join(root, 'killed');
    const first = start(dataDir);
    let client = clientOf(await first.serving);
    const enrolled = await call(client.enrollFace, client, { subjectId: 'ada', image: photo(1), payload: undefined, facePolicy: FacePolicy.FACE_POLICY_LARGEST });
    client.close();
    await stop(first, 'SIGKILL');
    assert.equal(first.child.signalCode, 'SIGKILL');
    // What a restarted container finds: a LOCK naming PID 1, which is alive (it is the new server).
    writeFileSync(join(dataDir, LOCK_FILE), '1\n');

    const second = start(dataDir);
    client = clientOf(await second.serving);
    try {
      const subject = await call(client.getSubject, client, { subjectId: 'ada' });
      assert.deepEqual(subject.faceIds, [enrolled.faceId], 'the acknowledged enrolment survived the kill');
      const again = await call(client.enrollFace, client, { subjectId: 'ada', image: photo(1), payload: undefined, facePolicy: FacePolicy.FACE_POLICY_LARGEST });
      assert.equal(again.duplicate, true, 'the restarted server writes to the same gallery');
    } finally {
      client.close();
    }
    assert.equal(await stop(second), 0, 'and stops cleanly');
  });

  it('a second server on a DATA_DIR in use exits with STORE_LOCKED saying what to do', { timeout: 240_000 }, async () => {
    const dataDir = join(root, 'shared');
    const first = start(dataDir);
    const port = await first.serving;
    const second = start(dataDir);
    assert.equal(await second.exited, 1, 'the second server refuses to start');
    const said = second.stderr();
    assert.match(said, /STORE_LOCKED/);
    assert.match(said, new RegExp(`${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by another facerec process \\(LOCK names pid ${first.child.pid} `));
    assert.match(said, /stop it or point DATA_DIR elsewhere/);
    // The first is unharmed by the attempt.
    const client = clientOf(port);
    try {
      assert.equal((await call(client.getInfo, client, {})).storeBackend, 'embedded');
    } finally {
      client.close();
    }
    assert.equal(await stop(first), 0);
  });
});
