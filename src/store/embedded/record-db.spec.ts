import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import Database from 'better-sqlite3';

import { isFacerecError } from '../../errors.js';
import { silentLogger } from '../../logger.js';
import { EmbeddedVectorStore } from './embedded-vector-store.js';
import { DB_FILE } from './record-db.js';

const hnsw = { connectivity: 16, expansionAdd: 64, expansionSearch: 64 };

describe('embedded store refuses corrupt or foreign data directories', () => {
  const root = mkdtempSync(join(tmpdir(), 'facerec-corrupt-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const dirWith = (files: Record<string, string | Buffer>) => {
    const dir = join(root, `d${n++}`);
    mkdirSync(dir);
    for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
    return dir;
  };
  const open = (dataDir: string, dimension = 8) => EmbeddedVectorStore.open({ dataDir, annThreshold: 100, hnsw, indexSaveEveryChanges: 100, dimension, logger: silentLogger });
  const corrupt = (pattern: RegExp) => (err: unknown) => isFacerecError(err, 'STORE_CORRUPT') && pattern.test((err as Error).message);

  it('a gallery file that is not SQLite', () => {
    const dir = dirWith({ [DB_FILE]: 'this is not a database at all, just text padding it out' });
    assert.throws(() => open(dir), corrupt(/not a SQLite database/));
  });

  it('a SQLite database that is not ours', () => {
    const dir = dirWith({});
    const db = new Database(join(dir, DB_FILE));
    db.exec('CREATE TABLE photos (id INTEGER)');
    db.close();
    assert.throws(() => open(dir), corrupt(/not a facerec gallery/));
  });

  it('files facerec did not write', () => {
    const dir = dirWith({ 'holiday.jpg': 'x', 'notes.txt': 'y' });
    assert.throws(() => open(dir), corrupt(/did not write \(holiday\.jpg, notes\.txt\)/));
  });

  it('a gallery of another embedding width', async () => {
    const dir = dirWith({});
    await open(dir, 8).close();
    assert.throws(() => open(dir, 16), corrupt(/8-d embeddings .* 16-d/));
  });

  it('a truncated database page', async () => {
    const dir = dirWith({});
    await open(dir).close();
    const header = Buffer.from('SQLite format 3\0');
    writeFileSync(join(dir, DB_FILE), Buffer.concat([header, Buffer.alloc(600, 0xff)]));
    assert.throws(() => open(dir), (err) => isFacerecError(err, 'STORE_CORRUPT'));
  });

  it('releases the lock after refusing, so a fixed directory opens', async () => {
    const dir = dirWith({ 'stray.bin': 'x' });
    assert.throws(() => open(dir));
    rmSync(join(dir, 'stray.bin'));
    await open(dir).close();
  });
});
