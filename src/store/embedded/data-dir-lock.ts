import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import { FacerecError } from '../../errors.js';

export const LOCK_FILE = 'LOCK';

export interface DataDirLock {
  readonly path: string;
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else; still alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One process per data directory. The lock file holds the owner's PID and is
 * created with O_EXCL; a lock left by a dead PID (after kill -9) is taken over.
 * SQLite's exclusive locking mode backs this up at the OS level, so a reused
 * PID cannot lead two processes into the same files.
 */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return {
        path,
        release() {
          if (released) return;
          released = true;
          if (readOwner(path) === process.pid) unlinkSync(path);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new FacerecError('STORE_UNAVAILABLE', `cannot create ${path}: ${(err as Error).message}`, { cause: err });
      }
    }
    const owner = readOwner(path);
    if (owner !== undefined && isAlive(owner)) {
      const who = owner === process.pid ? 'this process (the store is already open)' : `process ${owner}`;
      throw new FacerecError('STORE_LOCKED', `${dataDir} is locked by ${who}; stop it or point DATA_DIR elsewhere`, {
        details: { dataDir, pid: owner },
      });
    }
    // Stale: move it aside atomically so two takers cannot both unlink a fresh lock.
    try {
      const aside = `${path}.stale-${process.pid}`;
      renameSync(path, aside);
      unlinkSync(aside);
    } catch {
      // Someone else took it over first; retry the exclusive create.
    }
  }
  throw new FacerecError('STORE_LOCKED', `${dataDir}: could not take over the stale lock file ${path}`);
}
