import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

import { FacerecError } from '../../errors.js';
import type { Logger } from '../../logger.js';

/**
 * Who holds a data directory, and how a second facerec is kept out.
 *
 * The lock that refuses is SQLite's: the record database is opened with
 * `locking_mode=EXCLUSIVE` (record-db.ts), which holds an OS-level lock on
 * the file for as long as the connection is open. The kernel drops that lock
 * when the process dies, however it dies, so a crash can never leave the
 * directory locked. A PID check cannot promise that: in a container the
 * server is PID 1 before and after a restart, so a PID in a file left by a
 * killed process still looks alive and the pod would crash-loop.
 *
 * `LOCK` survives only as a note for operators (`cat DATA_DIR/LOCK`): it is
 * written after the database lock is taken, names the holder, and is read
 * back only to put the holder in the STORE_LOCKED message. Whatever it
 * holds, stale or garbage, it never refuses a start.
 */
export const LOCK_FILE = 'LOCK';
/** Files earlier versions left while taking over a stale lock; removed by the next holder. */
const OLD_STALE_PREFIX = `${LOCK_FILE}.stale-`;

export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

export interface LockNote {
  readonly path: string;
  /** Removes the note (never throws); call while the database lock is still held. */
  release(): void;
}

/**
 * Writes `LOCK` for the holder of the database lock. Call only after
 * openRecordDb succeeded, so the note is never written over a live holder's.
 * A note that cannot be written is logged, not fatal: it refuses nothing.
 */
export function writeLockNote(dataDir: string, logger: Logger): LockNote {
  const path = join(dataDir, LOCK_FILE);
  const holder: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  try {
    writeFileSync(path, `${JSON.stringify(holder)}\n`);
    for (const name of readdirSync(dataDir)) if (name.startsWith(OLD_STALE_PREFIX)) rmSync(join(dataDir, name), { force: true });
  } catch (error) {
    logger.warn('store: could not write the LOCK note (informational only)', { path, cause: String(error) });
  }
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      try {
        rmSync(path, { force: true });
      } catch {
        // A note left behind is harmless: the next holder overwrites it.
      }
    },
  };
}

/** What `LOCK` says, when it is a note this version wrote; anything else is ignored. */
export function readLockHolder(dataDir: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string' && typeof parsed.since === 'string') {
      return { pid: parsed.pid, host: parsed.host, since: parsed.since };
    }
  } catch {
    // Missing, unreadable or an older format: no holder to name.
  }
  return undefined;
}

/** The STORE_LOCKED error for a database another connection holds. */
export function dataDirInUse(dataDir: string, cause: unknown): FacerecError {
  const holder = readLockHolder(dataDir);
  const who = holder ? ` (LOCK names pid ${holder.pid} on ${holder.host}, since ${holder.since})` : '';
  return new FacerecError('STORE_LOCKED', `${dataDir} is in use by another facerec process${who}; stop it or point DATA_DIR elsewhere`, {
    cause,
    details: { dataDir, ...(holder ? { holder } : {}) },
  });
}
