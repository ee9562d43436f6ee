/**
 * One contract for every `facerec ingest` source: the same photo set, written
 * as a folder tree, CSV and JSON-lines manifests, a Parquet file, a folder of
 * Parquet files and two PostgreSQL tables (bytes and paths), must read back
 * as the same records in the same order, count the same, and split into
 * shards that cover it exactly once.
 *
 * PostgreSQL is a real throwaway cluster (test/support/postgres.ts); without
 * PostgreSQL installed its cases skip, except under CI=true.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { DEFAULT_COLUMNS, type IngestSource, type SourceRecord } from '../src/ingest/source.js';
import { inShard, parseShard, shardOf } from '../src/ingest/shard.js';
import { openFolderSource } from '../src/ingest/sources/folder.js';
import { openManifestSource } from '../src/ingest/sources/manifest.js';
import { openParquetSource } from '../src/ingest/sources/parquet.js';
import { openPostgresSource } from '../src/ingest/sources/postgres.js';
import { payloadOf, sortedEntries, writePhotoSet, writePhotoSetTable, type PhotoSetEntry } from './support/photo-set.js';
import { postgresMissing, startPostgres, type TestPostgres } from './support/postgres.js';

const SUBJECTS = ['Ada_Lovelace', 'Alan_Turing', 'Grace_Hopper', 'Katherine_Johnson', 'Edsger_Dijkstra'];

/** Distinct bytes per photo stand in for images: the readers pass bytes through and never decode them. */
const ENTRIES: PhotoSetEntry[] = SUBJECTS.flatMap((subjectId, s) =>
  Array.from({ length: 1 + (s % 3) }, (_, i) => ({ subjectId, file: `photo-${i}.jpg`, bytes: Buffer.from(`${subjectId} photo ${i} ${'x'.repeat(s * 7 + i)}`) })),
);
const EXPECTED = sortedEntries(ENTRIES);

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function readAll(source: IngestSource): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  for await (const record of source.records()) records.push(record);
  return records;
}

interface SourceCase {
  readonly name: string;
  open(): Promise<IngestSource>;
}

const missingPostgres = postgresMissing();
const skipPostgres = missingPostgres !== undefined && process.env['CI'] !== 'true' ? missingPostgres : false;

describe('ingest sources: one contract for every reader', () => {
  let dir: string;
  let db: TestPostgres | undefined;
  const cases: SourceCase[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'facerec-sources-'));
    const folder = await writePhotoSet(ENTRIES, join(dir, 'folder'), 'folder');
    const csv = await writePhotoSet(ENTRIES, join(dir, 'csv'), 'csv');
    const jsonl = await writePhotoSet(ENTRIES, join(dir, 'jsonl'), 'jsonl');
    const parquet = await writePhotoSet(ENTRIES, join(dir, 'parquet'), 'parquet');
    const parquetFolder = await writePhotoSet(ENTRIES, join(dir, 'parquet-folder'), 'parquet-folder');
    cases.push(
      { name: 'folder', open: async () => openFolderSource(folder) },
      { name: 'csv', open: async () => openManifestSource(csv, 'csv', DEFAULT_COLUMNS) },
      { name: 'jsonl', open: async () => openManifestSource(jsonl, 'jsonl', DEFAULT_COLUMNS) },
      { name: 'parquet file', open: async () => openParquetSource(parquet, {}) },
      { name: 'parquet folder', open: async () => openParquetSource(parquetFolder, {}) },
    );
    if (!skipPostgres) {
      db = await startPostgres();
      const env: NodeJS.ProcessEnv = { ...process.env, ...db.env };
      const bytea = await writePhotoSetTable(ENTRIES, db, 'photos_bytea', 'bytea', join(dir, 'pg-unused'));
      const paths = await writePhotoSetTable(ENTRIES, db, 'photos_paths', 'paths', join(dir, 'pg-paths'));
      // Through --pg-url-env, the way a password stays out of `ps`.
      env['TEST_PG_URL'] = `postgres://${db.env.PGUSER}@/${db.env.PGDATABASE}?host=${encodeURIComponent(db.env.PGHOST)}&port=${db.env.PGPORT}`;
      cases.push(
        { name: 'postgres bytea', open: async () => openPostgresSource({ query: bytea, urlEnv: 'TEST_PG_URL', columns: DEFAULT_COLUMNS, env }) },
        { name: 'postgres paths', open: async () => openPostgresSource({ query: paths, urlEnv: 'TEST_PG_URL', columns: DEFAULT_COLUMNS, env, batchSize: 2 }) },
      );
    }
  });

  after(async () => {
    await db?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('every source yields the same records, in the same order, on every read', async () => {
    assert.equal(cases.length, skipPostgres ? 5 : 7);
    for (const source of cases) {
      const opened = await source.open();
      const records = await readAll(opened);
      assert.deepEqual(records.map((r) => r.subjectId), EXPECTED.map((e) => e.subjectId), source.name);
      for (const [i, record] of records.entries()) {
        assert.equal(record.problem, undefined, `${source.name}: ${record.ref}`);
        assert.equal(sha(await record.image()), sha(EXPECTED[i]!.bytes), `${source.name}: image of ${record.ref}`);
        assert.deepEqual(record.payload, payloadOf(EXPECTED[i]!), `${source.name}: payload of ${record.ref}`);
      }
      assert.deepEqual((await readAll(opened)).map((r) => r.ref), records.map((r) => r.ref), `${source.name}: order is stable`);
      await opened.close();
    }
  });

  it('every source counts what it yields, for the whole set and per shard (unknown for a query)', async () => {
    for (const source of cases) {
      const opened = await source.open();
      const total = await opened.count(() => true);
      if (source.name.startsWith('postgres')) {
        assert.equal(total, undefined);
        continue;
      }
      assert.equal(total, EXPECTED.length, source.name);
      const shard = parseShard('1/3');
      assert.equal(await opened.count(inShard(shard)), EXPECTED.filter((e) => shardOf(e.subjectId, 3) === 1).length, source.name);
    }
  });

  it('three shards cover every source exactly once, with each subject in one shard', async () => {
    for (const source of cases) {
      const opened = await source.open();
      const all = await readAll(opened);
      const seen: string[] = [];
      const owner = new Map<string, number>();
      for (let index = 0; index < 3; index++) {
        const keep = inShard({ index, count: 3 });
        for (const record of all.filter((r) => keep(r.subjectId))) {
          seen.push(record.ref);
          assert.equal(owner.get(record.subjectId) ?? index, index, `${source.name}: ${record.subjectId} in two shards`);
          owner.set(record.subjectId, index);
        }
      }
      assert.deepEqual(seen.sort(), all.map((r) => r.ref).sort(), source.name);
    }
  });

  it('a missing PostgreSQL is a failure under CI, a skip elsewhere', { skip: missingPostgres === undefined }, () => {
    assert.notEqual(process.env['CI'], 'true', `under CI PostgreSQL must be installed: ${missingPostgres}`);
  });
});

describe('ingest sources: bad input', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'facerec-sources-bad-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('a manifest row without a subject or a path, or a line that is not JSON, is one bad record, not the end of the job', async () => {
    await writeFile(join(dir, 'm.jsonl'), ['{"path":"a.jpg","subject_id":"a"}', 'not json', '{"path":"b.jpg"}', '[1]', '{"subject_id":"c"}', ''].join('\n'));
    const records = await readAll(openManifestSource(join(dir, 'm.jsonl'), 'jsonl', DEFAULT_COLUMNS));
    assert.deepEqual(
      records.map((r) => r.problem ?? 'ok'),
      ['ok', records[1]!.problem, 'no subject_id', 'not a JSON object', 'no path'],
    );
    assert.match(records[1]!.problem!, /^not JSON/);
    await assert.rejects(records[0]!.image(), /ENOENT/);
  });

  it('a JSON subject id too large to read exactly is a bad record, not a merge of two people', async () => {
    await writeFile(join(dir, 'big.jsonl'), '{"path":"a.jpg","subject_id":12345678901234567891}\n{"path":"b.jpg","subject_id":42}\n');
    const records = await readAll(openManifestSource(join(dir, 'big.jsonl'), 'jsonl', DEFAULT_COLUMNS));
    assert.match(records[0]!.problem!, /too large to read exactly; quote it/);
    assert.equal(records[1]!.subjectId, '42');
  });

  it('a folder tree of symlinks reads like the real thing', async () => {
    const real = join(dir, 'real');
    await mkdir(join(real, 'Ada'), { recursive: true });
    await writeFile(join(real, 'Ada', 'a.jpg'), 'bytes');
    await mkdir(join(dir, 'links', 'Bea'), { recursive: true });
    await symlink(join(real, 'Ada'), join(dir, 'links', 'Ada'));
    await symlink(join(real, 'Ada', 'a.jpg'), join(dir, 'links', 'Bea', 'b.jpg'));
    const records = await readAll(openFolderSource(join(dir, 'links')));
    assert.deepEqual(records.map((r) => r.subjectId), ['Ada', 'Bea']);
  });

  it('a CSV without the named columns says which columns it has and which flag names them', async () => {
    await writeFile(join(dir, 'm.csv'), 'file,person\na.jpg,x\n');
    await assert.rejects(readAll(openManifestSource(join(dir, 'm.csv'), 'csv', DEFAULT_COLUMNS)), /no column "path" \(columns: file, person\); name it with --path-column/);
    const renamed = await readAll(openManifestSource(join(dir, 'm.csv'), 'csv', { path: 'file', subject: 'person' }));
    assert.deepEqual(renamed.map((r) => [r.subjectId, r.payload]), [['x', {}]]);
  });

  it('a file that is not Parquet, and --shard out of range, are refused with the reason', async () => {
    await writeFile(join(dir, 'x.parquet'), 'not parquet');
    await assert.rejects(readAll(openParquetSource(join(dir, 'x.parquet'), {})), /is not a readable Parquet file/);
    assert.throws(() => parseShard('3/3'), /0 ≤ i < N/);
    assert.throws(() => parseShard('1'), /i\/N/);
  });
});
