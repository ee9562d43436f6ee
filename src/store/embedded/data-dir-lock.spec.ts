import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { isFacerecError } from '../../errors.js';
import { acquireDataDirLock, LOCK_FILE } from './data-dir-lock.js';

describe('data directory lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'facerec-lock-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes our PID and refuses a second holder with STORE_LOCKED', () => {
    const lock = acquireDataDirLock(dir);
    assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8').trim(), String(process.pid));
    assert.throws(() => acquireDataDirLock(dir), (err) => isFacerecError(err, 'STORE_LOCKED') && /already open/.test(err.message));
    lock.release();
    assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  });

  it('refuses when another live process holds it', () => {
    // PID 1 is always alive (and usually not ours to signal: EPERM still counts as alive).
    writeFileSync(join(dir, LOCK_FILE), '1\n');
    assert.throws(() => acquireDataDirLock(dir), (err) => isFacerecError(err, 'STORE_LOCKED') && /process 1/.test(err.message));
    rmSync(join(dir, LOCK_FILE));
  });

  it('takes over a lock left by a dead process', () => {
    const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    writeFileSync(join(dir, LOCK_FILE), child.stdout);
    const lock = acquireDataDirLock(dir);
    assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8').trim(), String(process.pid));
    lock.release();
  });

  it('takes over an unreadable lock file', () => {
    writeFileSync(join(dir, LOCK_FILE), 'garbage');
    acquireDataDirLock(dir).release();
  });
});
