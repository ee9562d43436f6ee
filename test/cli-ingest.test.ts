/**
 * `facerec ingest` as an operator runs it, against the real server with the
 * real models: one photo set (two crops of each of ten people cut from the
 * sample photos, a truncated JPEG, a text file named .jpg and a photo with no
 * face) written as a folder tree, CSV, JSON lines, Parquet and PostgreSQL
 * tables. Each test uses its own subject-id prefix, so any test runs alone.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import sharp from 'sharp';

import { runCli } from '../src/cli/main.js';
import { packageRoot } from '../src/package-root.js';
import { mintToken } from '../src/server/auth.js';
import { call, startTestServer, type TestServer } from './support/facerec-server.js';
import { cropFace, photo } from './support/images.js';
import { writePhotoSet, writePhotoSetTable, type FileLayout, type PhotoSetEntry } from './support/photo-set.js';
import { postgresMissing, startPostgres } from './support/postgres.js';

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

interface Report {
  outcome: string;
  resumedAfter: number;
  counts: { records: number; enrolled: number; duplicates: number; failed: number };
  failuresByCode: Record<string, number>;
  failures: Array<{ ref: string; subjectId: string; code: string; message: string }>;
}

const PEOPLE = 10;
const GOOD = 2 * PEOPLE;
const BAD = 3;

describe('facerec ingest', () => {
  let server: TestServer;
  let dir: string;
  let crops: Buffer[][];
  let bad: { truncated: Buffer; notAnImage: Buffer; noFace: Buffer };
  const target = () => `127.0.0.1:${server.app.grpcPort}`;

  /** The photo set with subject ids `<prefix>_person_<n>`; the bad files sit beside person 0's photos. */
  function entries(prefix: string): PhotoSetEntry[] {
    const good = crops.flatMap((pair, p) => pair.map((bytes, i) => ({ subjectId: `${prefix}_person_${p}`, file: `crop-${i}.jpg`, bytes })));
    return [
      ...good,
      { subjectId: `${prefix}_person_0`, file: 'truncated.jpg', bytes: bad.truncated },
      { subjectId: `${prefix}_person_0`, file: 'notes.jpg', bytes: bad.notAnImage },
      { subjectId: `${prefix}_nobody`, file: 'wall.jpg', bytes: bad.noFace },
    ];
  }

  async function source(prefix: string, layout: FileLayout): Promise<string> {
    return writePhotoSet(entries(prefix), join(dir, prefix), layout);
  }

  async function ingest(...args: string[]): Promise<{ code: number; report: Report; stderr: string }> {
    const r = await cli('ingest', ...args);
    assert.ok(r.stdout.startsWith('{'), `${r.stderr}\n${r.stdout}`);
    return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
  }

  async function facesOf(subjectId: string): Promise<number> {
    const subject = await call(server.client.getSubject, server.client, { subjectId });
    return subject.faceCount;
  }

  before(async () => {
    server = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), 'facerec-ingest-'));
    crops = [];
    for (const n of [1, 3, 4] as const) {
      const image = photo(n);
      const detected = await call(server.client.detect, server.client, { image, includeEmbedding: false });
      for (const face of detected.faces) if (crops.length < PEOPLE) crops.push([await cropFace(image, face.box!, 0.3), await cropFace(image, face.box!, 0.5)]);
    }
    assert.equal(crops.length, PEOPLE);
    bad = {
      truncated: crops[0]![0]!.subarray(0, 300),
      notAnImage: Buffer.from('meeting notes, not a photo\n'),
      noFace: await sharp({ create: { width: 250, height: 250, channels: 3, background: { r: 180, g: 170, b: 160 } } }).jpeg().toBuffer(),
    };
  });

  after(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  for (const layout of ['folder', 'csv', 'jsonl', 'parquet'] as const) {
    it(`enrols a ${layout} source, reports each bad photo with its reason, and enrols nothing twice when run again`, async () => {
      const prefix = `${layout}`;
      const path = await source(prefix, layout);
      const checkpoint = join(dir, `${prefix}.checkpoint.json`);
      const first = await ingest(path, '--server', target(), '--checkpoint', checkpoint);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.report.outcome, 'complete');
      assert.deepEqual(first.report.counts, { records: GOOD + BAD, enrolled: GOOD, duplicates: 0, failed: BAD });
      assert.deepEqual(
        first.report.failures.map((f) => [f.ref.match(/(truncated|notes|wall)\.jpg/)?.[1], f.code]).sort(),
        [['notes', 'IMAGE_UNSUPPORTED'], ['truncated', 'IMAGE_TRUNCATED'], ['wall', 'NO_FACE']],
      );
      assert.match(first.stderr, new RegExp(`\\[ingest\\] ${GOOD + BAD}/${GOOD + BAD} \\(100%\\)`));
      for (let p = 0; p < PEOPLE; p++) assert.equal(await facesOf(`${prefix}_person_${p}`), 2);
      const subject = await call(server.client.getSubject, server.client, { subjectId: `${prefix}_person_3` });
      assert.equal(subject.payload?.['name'], `${prefix} person 3`);

      const again = await ingest(path, '--server', target(), '--checkpoint', checkpoint);
      assert.deepEqual(again.report.counts, { records: GOOD + BAD, enrolled: 0, duplicates: GOOD, failed: BAD });
    });
  }

  it('a re-run with a changed manifest updates the payloads of photos already enrolled', async () => {
    const path = await source('repayload', 'jsonl');
    const checkpoint = join(dir, 'repayload.checkpoint.json');
    assert.equal((await ingest(path, '--server', target(), '--checkpoint', checkpoint)).report.counts.enrolled, GOOD);
    const manifest = await readFile(path, 'utf8');
    await writeFile(path, manifest.replaceAll('"name":"repayload person', '"name":"Renamed person'));
    const again = await ingest(path, '--server', target(), '--checkpoint', checkpoint);
    assert.deepEqual(again.report.counts, { records: GOOD + BAD, enrolled: 0, duplicates: GOOD, failed: BAD });
    const subject = await call(server.client.getSubject, server.client, { subjectId: 'repayload_person_4' });
    assert.equal(subject.payload?.['name'], 'Renamed person 4');
  });

  it('resumes after the job is killed half-way, without losing or repeating a failure', async () => {
    const path = await source('resume', 'folder');
    const checkpoint = join(dir, 'state', 'resume.checkpoint.json');
    const child = spawn(process.execPath, ['--import', 'tsx', join(packageRoot(), 'src/cli/main.ts'), 'ingest', path, '--checkpoint', checkpoint, '--chunk-size', '2'], {
      env: { ...process.env, FACEREC_SERVER: target() },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // Killed without warning (SIGKILL, as a node failure would) once a few chunks are checkpointed.
    let done = 0;
    while (done < 6) {
      await new Promise((r) => setTimeout(r, 20));
      done = await readFile(checkpoint, 'utf8').then((t) => (JSON.parse(t) as Report).counts.records, () => 0);
    }
    child.kill('SIGKILL');
    await exited;
    const killedAt = (JSON.parse(await readFile(checkpoint, 'utf8')) as Report).counts.records;
    assert.ok(killedAt < GOOD + BAD, 'the job was still running when killed');

    const resumed = await ingest(path, '--server', target(), '--checkpoint', checkpoint, '--resume');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(resumed.report.resumedAfter, killedAt);
    assert.equal(resumed.report.counts.records, GOOD + BAD);
    // The chunk in flight when killed is sent again: what it enrolled comes back as duplicates.
    assert.equal(resumed.report.counts.enrolled + resumed.report.counts.duplicates, GOOD);
    assert.equal(resumed.report.failures.length, BAD);
    assert.equal(resumed.report.counts.failed, BAD);
    for (let p = 0; p < PEOPLE; p++) assert.equal(await facesOf(`resume_person_${p}`), 2);

    const finished = await ingest(path, '--server', target(), '--checkpoint', checkpoint, '--resume');
    assert.equal(finished.report.resumedAfter, GOOD + BAD, 'a finished job resumed does nothing');
  });

  it('Ctrl-C cancels the calls in flight, reports what was done and exits 130; --resume finishes the job', async () => {
    const path = await source('interrupt', 'csv');
    const checkpoint = join(dir, 'interrupt.checkpoint.json');
    const child = spawn(process.execPath, ['--import', 'tsx', join(packageRoot(), 'src/cli/main.ts'), 'ingest', path, '--checkpoint', checkpoint, '--chunk-size', '1'], {
      env: { ...process.env, FACEREC_SERVER: target() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let done = 0;
    while (done < 3) {
      await new Promise((r) => setTimeout(r, 20));
      done = await readFile(checkpoint, 'utf8').then((t) => (JSON.parse(t) as Report).counts.records, () => 0);
    }
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    const report = JSON.parse(stdout) as Report;
    assert.equal(report.outcome, 'interrupted');
    assert.ok(report.counts.records >= 3 && report.counts.records < GOOD + BAD, JSON.stringify(report.counts));

    const resumed = await ingest(path, '--server', target(), '--checkpoint', checkpoint, '--resume');
    assert.equal(resumed.report.outcome, 'complete');
    assert.equal(resumed.report.resumedAfter, report.counts.records);
    assert.equal(resumed.report.counts.failed, BAD);
  });

  it('sends the token from FACEREC_TOKEN, and says which flag to use when it is missing', async () => {
    const secret = 'ingest-test-secret-that-is-long-enough-for-hs256';
    const secured = await startTestServer({ auth: { secretKey: secret } });
    try {
      const path = await source('auth', 'folder');
      const address = `127.0.0.1:${secured.app.grpcPort}`;
      const refused = await cli('ingest', path, '--server', address, '--checkpoint', join(dir, 'auth.json'));
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /UNAUTHENTICATED: .*pass --token or set FACEREC_TOKEN/);
      process.env['FACEREC_TOKEN'] = await mintToken({ secret, scopes: ['faces:write'] });
      const r = await ingest(path, '--server', address, '--checkpoint', join(dir, 'auth.json'));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.report.counts.enrolled, GOOD);
    } finally {
      delete process.env['FACEREC_TOKEN'];
      await secured.stop();
    }
  });

  it('three shards of one source enrol every photo exactly once, each subject in one shard', async () => {
    const path = await source('shard', 'parquet');
    const reports: Report[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await ingest(path, '--server', target(), '--shard', `${i}/3`, '--checkpoint', join(dir, `shard-${i}.json`));
      assert.equal(r.code, 0, r.stderr);
      reports.push(r.report);
    }
    assert.equal(reports.reduce((n, r) => n + r.counts.records, 0), GOOD + BAD);
    assert.equal(reports.reduce((n, r) => n + r.counts.enrolled, 0), GOOD);
    assert.equal(reports.reduce((n, r) => n + r.counts.duplicates, 0), 0);
    for (let p = 0; p < PEOPLE; p++) assert.equal(await facesOf(`shard_person_${p}`), 2);
  });

  it('--max-failures stops the job with exit 1; --report writes every failure and stdout keeps the counts', async () => {
    const path = await source('limits', 'jsonl');
    const reportPath = join(dir, 'limits-report.json');
    const r = await cli('ingest', path, '--server', target(), '--checkpoint', join(dir, 'limits.json'), '--max-failures', '1', '--report', reportPath, '--chunk-size', '1');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /more than 1 photos failed in this run: stopped early/);
    const printed = JSON.parse(r.stdout) as Report & { report: string };
    assert.equal(printed.outcome, 'too-many-failures');
    assert.equal(printed.report, reportPath);
    assert.equal('failures' in printed, false);
    const written = JSON.parse(await readFile(reportPath, 'utf8')) as Report;
    // The call in flight when the limit was passed still finishes and is reported.
    assert.ok(written.failures.length >= 2 && written.failures.length === written.counts.failed, JSON.stringify(written.counts));
    assert.ok(written.counts.records < GOOD + BAD);

    const lenient = await ingest(path, '--server', target(), '--checkpoint', join(dir, 'limits.json'), '--resume', '--max-failures', '3');
    assert.equal(lenient.code, 0);
    assert.equal(lenient.report.counts.failed, BAD);
  });

  it('a resume refuses a source whose records moved since the checkpoint, instead of skipping photos silently', async () => {
    const path = await source('moved', 'folder');
    const checkpoint = join(dir, 'moved.checkpoint.json');
    // Stopped early on purpose: the first failure (the faceless photo of moved_nobody) passes a limit of 0.
    const first = await ingest(path, '--server', target(), '--checkpoint', checkpoint, '--max-failures', '0', '--chunk-size', '1');
    assert.equal(first.report.outcome, 'too-many-failures');
    await mkdir(join(path, 'a_new_person'));
    await writeFile(join(path, 'a_new_person', 'photo.jpg'), crops[0]![0]!);
    const resumed = await cli('ingest', path, '--server', target(), '--checkpoint', checkpoint, '--resume');
    assert.equal(resumed.code, 1);
    assert.match(resumed.stderr, /the source changed since the checkpoint: record \d+ was .*, now .*run without --resume/);
  });

  it('ingests PostgreSQL tables of image bytes and of file paths, streamed through a cursor', { skip: postgresMissing() !== undefined && process.env['CI'] !== 'true' ? postgresMissing() : false }, async () => {
    const db = await startPostgres();
    try {
      const byteaQuery = await writePhotoSetTable(entries('pgbytes'), db, 'photos_bytes', 'bytea', join(dir, 'unused'));
      const pathsQuery = await writePhotoSetTable(entries('pgpaths'), db, 'photos_paths', 'paths', join(dir, 'pgpaths'));
      // The URL comes from a variable the operator names: no password on the command line.
      process.env['FACEREC_TEST_PG_URL'] = `postgres://${db.env.PGUSER}@/${db.env.PGDATABASE}?host=${encodeURIComponent(db.env.PGHOST)}&port=${db.env.PGPORT}`;
      for (const [prefix, query] of [['pgbytes', byteaQuery], ['pgpaths', pathsQuery]] as const) {
        const r = await ingest('--query', query, '--pg-url-env', 'FACEREC_TEST_PG_URL', '--server', target(), '--checkpoint', join(dir, `${prefix}.json`));
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.report.counts, { records: GOOD + BAD, enrolled: GOOD, duplicates: 0, failed: BAD }, prefix);
        const subject = await call(server.client.getSubject, server.client, { subjectId: `${prefix}_person_1` });
        assert.equal(subject.payload?.['name'], `${prefix} person 1`);
      }
    } finally {
      delete process.env['FACEREC_TEST_PG_URL'];
      await db.stop();
    }
  });

  it('says clearly when the source, the server or the flags are wrong', async () => {
    const missing = await cli('ingest', join(dir, 'nope'), '--checkpoint', join(dir, 'nope.json'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /INVALID_ARGUMENT: .*cannot read .*nope/);
    const path = await source('errors', 'folder');
    const unreachable = await cli('ingest', path, '--server', '127.0.0.1:9', '--checkpoint', join(dir, 'errors.json'));
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /RPC_FAILED: .*BulkIngest to 127\.0\.0\.1:9: UNAVAILABLE: cannot connect/);
    assert.equal((await cli('ingest')).code, 2);
    assert.match((await cli('ingest', path, '--shard', '3/3')).stderr, /--shard takes i\/N/);
    assert.match((await cli('ingest', path, '--bogus')).stderr, /unknown option '?--bogus/i);
    const help = await cli('ingest', '--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--resume/);
  });
});
