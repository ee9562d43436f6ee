import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { isFacerecError } from '../../errors.js';
import { silentLogger } from '../../logger.js';
import { LOCK_FILE, readLockHolder } from './data-dir-lock.js';
import { EmbeddedVectorStore } from './embedded-vector-store.js';

const hnsw = { connectivity: 16, expansionAdd: 64, expansionSearch: 64 };
const open = (dataDir: string) => EmbeddedVectorStore.open({ dataDir, annThreshold: 100, hnsw, indexSaveEveryChanges: 100, dimension: 8, logger: silentLogger });
const inUse = (pid: number) => (err: unknown) =>
  isFacerecError(err, 'STORE_LOCKED') &&
  /is in use by another facerec process/.test(err.message) &&
  new RegExp(`LOCK names pid ${pid} `).test(err.message) &&
  /point DATA_DIR elsewhere/.test(err.message);

const STORE_MODULE = fileURLToPath(new URL('./embedded-vector-store.ts', import.meta.url));
const LOGGER_MODULE = fileURLToPath(new URL('../../logger.ts', import.meta.url));

/** Another process holding `dataDir` open, until it is killed. */
async function holdInChild(dataDir: string): Promise<{ pid: number; kill(): Promise<void> }> {
  const script = `
    const { EmbeddedVectorStore } = await import(${JSON.stringify(STORE_MODULE)});
    const { silentLogger } = await import(${JSON.stringify(LOGGER_MODULE)});
    EmbeddedVectorStore.open({ dataDir: process.argv[1], annThreshold: 100, hnsw: ${JSON.stringify(hnsw)}, indexSaveEveryChanges: 100, dimension: 8, logger: silentLogger });
    console.log('open');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const opened = await new Promise<boolean>((resolve) => {
    createInterface({ input: child.stdout }).once('line', (line) => resolve(line === 'open'));
    void exited.then(() => resolve(false));
  });
  if (!opened) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`the child could not open the store: ${stderr}`);
  }
  return {
    pid: child.pid!,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

describe('data directory lock', () => {
  const root = mkdtempSync(join(tmpdir(), 'facerec-lock-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const newDir = () => {
    const dir = join(root, `d${n++}`);
    mkdirSync(dir);
    return dir;
  };

  it('a LOCK naming a live PID does not refuse the start (PID 1: a restarted container)', async () => {
    const dir = newDir();
    // The old PID-file lock refused this: PID 1 is always alive, so a pod whose
    // server (PID 1) was killed crash-looped on its own LOCK.
    writeFileSync(join(dir, LOCK_FILE), '1\n');
    const store = open(dir);
    assert.equal(readLockHolder(dir)?.pid, process.pid, 'LOCK now names the holder, for operators');
    await store.close();
    assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  });

  it('ignores an unreadable LOCK and clears files older versions left', async () => {
    const dir = newDir();
    writeFileSync(join(dir, LOCK_FILE), 'garbage');
    writeFileSync(join(dir, `${LOCK_FILE}.stale-4242`), '4242\n');
    const store = open(dir);
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith(LOCK_FILE)), [LOCK_FILE]);
    assert.match(readFileSync(join(dir, LOCK_FILE), 'utf8'), new RegExp(`"pid":${process.pid}`));
    await store.close();
  });

  it('refuses a second open in this process with STORE_LOCKED naming the holder, until the first closes', async () => {
    const dir = newDir();
    const first = open(dir);
    assert.throws(() => open(dir), inUse(process.pid));
    await first.close();
    await open(dir).close();
  });

  it('refuses while another process holds it, and lets in once that process is killed', async () => {
    const dir = newDir();
    const holder = await holdInChild(dir);
    try {
      assert.throws(() => open(dir), inUse(holder.pid));
    } finally {
      await holder.kill();
    }
    // kill -9 leaves LOCK behind; the kernel has released the database lock.
    assert.equal(readLockHolder(dir)?.pid, holder.pid);
    await open(dir).close();
  });

  it('a refused open in this process leaves the holder locked against other processes', async () => {
    const dir = newDir();
    const first = open(dir);
    try {
      assert.throws(() => open(dir), (err) => isFacerecError(err, 'STORE_LOCKED'));
      // POSIX drops a process's lock on a file when any descriptor of it closes; the
      // refused open must not have opened and closed gallery.sqlite behind SQLite's back.
      await assert.rejects(holdInChild(dir), /could not open the store: .*STORE_LOCKED/s);
    } finally {
      await first.close();
    }
  });
});
