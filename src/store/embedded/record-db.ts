import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import Database from 'better-sqlite3';

import { FacerecError } from '../../errors.js';
import { dataDirInUse, LOCK_FILE } from './data-dir-lock.js';
import { REVIEW_SCHEMA } from './review-faces.js';
import { rebuildTemplates } from './subject-templates.js';

export type Db = Database.Database;

export const DB_FILE = 'gallery.sqlite';
/** 'FREC': marks the SQLite file as ours, so a foreign database is refused. */
const APPLICATION_ID = 0x46524543;
/**
 * 2 added subject templates (filled from the faces when a version-1 gallery is opened);
 * 3 added the review list of unknown faces (review-faces.ts), empty when added.
 */
const SCHEMA_VERSION = 3;

// One row per subject with faces: the L2-normalised mean of its faces' embeddings,
// rewritten from those faces in the transaction of every write that changes them.
const TEMPLATES_SCHEMA = `
CREATE TABLE templates (
  subject_id TEXT PRIMARY KEY REFERENCES subjects(subject_id),
  embedding BLOB NOT NULL,
  face_count INTEGER NOT NULL
) WITHOUT ROWID;
`;

const SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE subjects (
  subject_id TEXT PRIMARY KEY,
  payload TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
-- key is the ANN index label; AUTOINCREMENT never reuses one, so a stale index
-- entry can never point at a newer face.
CREATE TABLE faces (
  key INTEGER PRIMARY KEY AUTOINCREMENT,
  face_id TEXT NOT NULL UNIQUE,
  subject_id TEXT NOT NULL REFERENCES subjects(subject_id),
  embedding BLOB NOT NULL,
  payload TEXT NOT NULL,
  image_sha256 TEXT,
  created_at_ms INTEGER NOT NULL
);
CREATE INDEX faces_by_subject ON faces(subject_id, key);
-- Index changes since the persisted ANN index was saved (op 1 = add, 0 = remove);
-- replayed at start-up, pruned after each save.
CREATE TABLE changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, key INTEGER NOT NULL, op INTEGER NOT NULL);
${TEMPLATES_SCHEMA}
${REVIEW_SCHEMA}`;

/** Names facerec writes into DATA_DIR; anything else means DATA_DIR is someone else's. */
export function isOwnFile(name: string): boolean {
  return (
    name === LOCK_FILE ||
    // Left by versions that took over a PID lock file; the next holder removes them.
    name.startsWith(`${LOCK_FILE}.stale-`) ||
    name === DB_FILE ||
    name === `${DB_FILE}-wal` ||
    name === `${DB_FILE}-shm` ||
    name === `${DB_FILE}-journal` ||
    /^index-\d+\.usearch(\.tmp)?$/.test(name) ||
    name.startsWith('.') ||
    name === 'lost+found'
  );
}

function corrupt(dataDir: string, why: string, cause?: unknown): FacerecError {
  return new FacerecError('STORE_CORRUPT', `${dataDir}: ${why}`, { cause, details: { dataDir } });
}

/*
 * Nothing here opens gallery.sqlite itself (not even to peek at its header):
 * POSIX drops every lock a process holds on a file when any descriptor of that
 * file is closed, so one stray open/close would quietly release the exclusive
 * lock of a store already open in this process. SQLite's own errors
 * (SQLITE_NOTADB) say what a header check would have.
 */
function checkDirectory(dataDir: string): void {
  const foreign = readdirSync(dataDir).filter((name) => !isOwnFile(name));
  if (foreign.length > 0) {
    const shown = foreign.slice(0, 5).join(', ') + (foreign.length > 5 ? ', …' : '');
    throw corrupt(dataDir, `holds files facerec did not write (${shown}); use an empty or facerec-only directory`);
  }
}

/** SQLite failures that mean "the files are bad" rather than "a bug". */
export function translateSqliteError(dataDir: string, err: unknown): unknown {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'SQLITE_NOTADB') return corrupt(dataDir, `${DB_FILE} is not a SQLite database (damaged, or another program's file)`, err);
  if (code.startsWith('SQLITE_CORRUPT')) return corrupt(dataDir, `${DB_FILE} is damaged (${code})`, err);
  // Only another connection's exclusive lock makes SQLite busy here (ours is held from open to close).
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return dataDirInUse(dataDir, err);
  if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_READONLY')) {
    return new FacerecError('STORE_UNAVAILABLE', `${dataDir}: ${code}`, { cause: err });
  }
  return err;
}

/**
 * Opens (or creates) the record of truth: WAL with synchronous=FULL, so a
 * committed transaction survives kill -9 and power loss; exclusive locking so a
 * second process fails fast with SQLITE_BUSY (STORE_LOCKED) instead of sharing
 * the file. This lock is the one that keeps a second facerec out of DATA_DIR
 * (data-dir-lock.ts says why it is not a PID file), and the kernel releases it
 * when the process dies.
 */
export function openRecordDb(dataDir: string, dimension: number): Db {
  const dbPath = join(dataDir, DB_FILE);
  checkDirectory(dataDir);
  let db: Db | undefined;
  try {
    db = new Database(dbPath, { timeout: 0 });
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    // In WAL mode an exclusive connection takes its lock at the first access, not at
    // open: take it now, so a second process is refused at start-up rather than at its
    // first write. Exclusive mode then holds it until close().
    db.exec('BEGIN EXCLUSIVE; COMMIT');
    const appId = db.pragma('application_id', { simple: true }) as number;
    const tableCount = (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }).n;
    if (appId === 0 && tableCount === 0) {
      db.transaction(() => {
        db!.exec(SCHEMA);
        db!.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('dimension', String(dimension));
        db!.pragma(`application_id = ${APPLICATION_ID}`);
        db!.pragma(`user_version = ${SCHEMA_VERSION}`);
      })();
    } else if (appId !== APPLICATION_ID) {
      throw corrupt(dataDir, `${DB_FILE} is a SQLite database but not a facerec gallery`);
    }
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version === 1) migrateToTemplates(db);
    if (version === 1 || version === 2) migrateToReviewList(db);
    else if (version !== SCHEMA_VERSION) throw corrupt(dataDir, `${DB_FILE} has schema version ${version}; this build reads 1 to ${SCHEMA_VERSION}`);
    const stored = Number(getMeta(db, 'dimension'));
    if (stored !== dimension) throw corrupt(dataDir, `gallery holds ${stored}-d embeddings but the store was opened for ${dimension}-d`);
    return db;
  } catch (err) {
    db?.close();
    throw translateSqliteError(dataDir, err);
  }
}

/** A version-1 gallery (before subject templates): add the table, fill it from the faces, in one transaction. */
function migrateToTemplates(db: Db): void {
  db.transaction(() => {
    db.exec(TEMPLATES_SCHEMA);
    rebuildTemplates(db);
    db.pragma('user_version = 2');
  })();
}

/** A version-2 gallery (before the review list): add its empty table. */
function migrateToReviewList(db: Db): void {
  db.transaction(() => {
    db.exec(REVIEW_SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}

export function getMeta(db: Db, key: string): string | undefined {
  return (db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
}

export function setMeta(db: Db, key: string, value: string): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
}
