import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

import { getMeta, setMeta, type Db } from './record-db.js';
import type { RecordReader } from './record-reads.js';
import { OP_ADD } from './record-writes.js';
import { HnswIndex, type HnswParams } from './vector-index.js';

/**
 * The HNSW index is a cache of the faces table. It is saved as
 * `index-<seq>.usearch`, where seq is the last `changes` row it contains, and
 * its size and CRC-32 are recorded in SQLite in the same transaction that
 * prunes the change log. At start-up a file that does not match is ignored and
 * the index rebuilt; one that matches is loaded and the later changes replayed.
 * The checksum matters: usearch crashes the process on a damaged file.
 */

/** CRC-32 catches damage (bit rot, a stray write) at ~6 GB/s; this is no defence against tampering. */
function fileCrc32(path: string): string {
  let crc = 0;
  const fd = openSync(path, 'r');
  const chunk = Buffer.allocUnsafe(8 * 1024 * 1024);
  try {
    for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk)) crc = crc32(chunk.subarray(0, n), crc);
  } finally {
    closeSync(fd);
  }
  return crc.toString(16);
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function saveIndex(db: Db, reader: RecordReader, dataDir: string, index: HnswIndex): void {
  const seq = reader.lastChangeSeq();
  const name = `index-${seq}.usearch`;
  const finalPath = join(dataDir, name);
  const tmpPath = `${finalPath}.tmp`;
  let checksum: string;
  let bytes: number;
  try {
    index.save(tmpPath);
    fsyncPath(tmpPath);
    checksum = fileCrc32(tmpPath);
    bytes = statSync(tmpPath).size;
    renameSync(tmpPath, finalPath);
  } catch (error) {
    // Most often the disk is full: give back what the partial file took.
    rmQuietly(tmpPath);
    throw error;
  }
  fsyncPath(dataDir);
  db.transaction(() => {
    setMeta(db, 'index_file', name);
    setMeta(db, 'index_seq', String(seq));
    setMeta(db, 'index_bytes', String(bytes));
    setMeta(db, 'index_crc32', checksum);
    db.prepare('DELETE FROM changes WHERE seq <= ?').run(seq);
  })();
  removeIndexFiles(dataDir, name);
}

function rmQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone, or not a file: the next save's clean-up tries again.
  }
}

/**
 * Deletes index files other than `keep` (older saves, interrupted tmp files).
 * Best effort: the save that calls it has already committed, and whatever is
 * left is retried by the next save.
 */
export function removeIndexFiles(dataDir: string, keep?: string): void {
  for (const name of readdirSync(dataDir)) {
    if (/^index-\d+\.usearch(\.tmp)?$/.test(name) && name !== keep) rmQuietly(join(dataDir, name));
  }
}

/** Forgets the saved index: used when the gallery drops below the ANN threshold. */
export function dropSavedIndex(db: Db, reader: RecordReader, dataDir: string): void {
  const seq = reader.lastChangeSeq();
  db.transaction(() => {
    db.prepare("DELETE FROM meta WHERE key IN ('index_file', 'index_seq', 'index_bytes', 'index_crc32')").run();
    db.prepare('DELETE FROM changes WHERE seq <= ?').run(seq);
  })();
  removeIndexFiles(dataDir);
}

/** The reason loadIndex gives when nothing was ever saved (normal, unlike a damaged file). */
export const NO_SAVED_INDEX = 'no saved index';

export type LoadOutcome = { index: HnswIndex; replayed: number } | { index: undefined; reason: string };

export function loadIndex(db: Db, reader: RecordReader, dataDir: string, dimension: number, params: HnswParams): LoadOutcome {
  const name = getMeta(db, 'index_file');
  if (name === undefined) return { index: undefined, reason: NO_SAVED_INDEX };
  const path = join(dataDir, name);
  if (!existsSync(path)) return { index: undefined, reason: `${name} is missing` };
  if (statSync(path).size !== Number(getMeta(db, 'index_bytes'))) return { index: undefined, reason: `${name} has the wrong size` };
  if (fileCrc32(path) !== getMeta(db, 'index_crc32')) return { index: undefined, reason: `${name} fails its checksum` };
  const index = new HnswIndex(dimension, params);
  index.load(path);
  const changes = reader.changesSince(Number(getMeta(db, 'index_seq')));
  // Replay in order; the final op per key decides, and an add reads the vector as it is now.
  const finalOp = new Map<number, number>();
  for (const c of changes) finalOp.set(c.key, c.op);
  for (const [key, op] of finalOp) {
    if (op === OP_ADD) {
      const embedding = reader.embedding(key);
      if (embedding) index.add(key, embedding);
      else index.remove(key);
    } else {
      index.remove(key);
    }
  }
  return { index, replayed: finalOp.size };
}
