// Smoke test of `npm run bench:load`: short closed-loop (gRPC, its own child
// server) and open-loop (REST, a server given with --target) runs finish by
// themselves without errors and write the JSON report and the three CSV
// files in the documented shape. Timings are never asserted: the machine is
// shared.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

const root = join(import.meta.dirname, '..');
const run = promisify(execFile);

function bench(args: string[]) {
  return run(process.execPath, ['--import', 'tsx', 'bench/load.ts', '--quiet', ...args], { cwd: root, encoding: 'utf8', timeout: 180_000 });
}

async function readCsv(path: string): Promise<string[][]> {
  return (await readFile(path, 'utf8')).trimEnd().split('\n').map((line) => line.split(','));
}

function assertLatency(latency: Record<string, number>) {
  for (const key of ['count', 'meanMs', 'p50Ms', 'p90Ms', 'p99Ms', 'maxMs']) assert.equal(typeof latency[key], 'number', key);
  assert.ok(latency['p50Ms']! <= latency['p90Ms']! && latency['p90Ms']! <= latency['p99Ms']! && latency['p99Ms']! <= latency['maxMs']!);
}

describe('bench:load', () => {
  let dir: string;
  let server: ServerProcess;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'facerec-bench-load-'));
    server = await startServerProcess();
  });
  after(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('closed loop over gRPC against its own server: JSON and CSV reports, no errors', async () => {
    const prefix = join(dir, 'closed');
    const { stdout } = await bench(['--concurrency', '4', '--duration', '2', '--warmup', '0.5', '--mix', 'portrait=2,group=1,noface=1', '--portraits', '4', '--json', `${prefix}.json`, '--csv', prefix]);
    assert.match(stdout, /throughput .* req\/s/);
    const report = JSON.parse(await readFile(`${prefix}.json`, 'utf8'));
    assert.equal(report.selfStarted, true);
    assert.equal(report.protocol, 'grpc');
    assert.deepEqual(report.mode, { kind: 'closed', concurrency: 4 });
    assert.deepEqual(report.inputs, { portrait: 4, group: 6, noface: 3 });
    assert.ok(report.requests.ok > 0);
    assert.equal(report.requests.errors, 0);
    assert.deepEqual(report.errors, {});
    assert.deepEqual(Object.keys(report.byKind), ['portrait', 'group', 'noface']);
    assert.equal(report.byKind.noface.faces, 0, 'the made images hold no face');
    assert.ok(report.byKind.group.faces > report.byKind.group.requests, 'group photos hold several faces');
    assertLatency(report.latencyMs);
    for (const kind of Object.values(report.byKind) as { latencyMs: Record<string, number> }[]) assertLatency(kind.latencyMs);
    assert.equal(typeof report.throughput.reqPerS, 'number');
    assert.equal(report.timeSeries[0].phase, 'warmup');
    assert.ok(report.timeSeries.some((s: { phase: string }) => s.phase === 'measure'));

    const stats = await readCsv(`${prefix}_stats.csv`);
    assert.deepEqual(stats[0], ['kind', 'requests', 'errors', 'faces', 'req_per_s', 'mean_ms', 'p50_ms', 'p90_ms', 'p99_ms', 'max_ms']);
    assert.deepEqual(stats.slice(1).map((r) => r[0]), ['portrait', 'group', 'noface', 'all']);
    assert.equal(Number(stats.at(-1)![1]), report.requests.ok);
    const history = await readCsv(`${prefix}_stats_history.csv`);
    assert.deepEqual(history[0], ['second', 'phase', 'requests', 'errors', 'p50_ms', 'p90_ms', 'p99_ms', 'max_ms', 'in_flight']);
    assert.equal(history.length - 1, report.timeSeries.length);
    assert.deepEqual(await readCsv(`${prefix}_failures.csv`), [['error', 'count', 'example']]);
  });

  it('open loop over REST against a given target: every due request sent, no errors', async () => {
    const prefix = join(dir, 'open');
    const target = new URL(server.restUrl).host;
    await bench(['--protocol', 'rest', '--target', target, '--rate', '8', '--duration', '2', '--warmup', '0.5', '--mix', 'portrait=1,noface=1', '--portraits', '2', '--json', `${prefix}.json`, '--csv', prefix]);
    const report = JSON.parse(await readFile(`${prefix}.json`, 'utf8'));
    assert.equal(report.selfStarted, false);
    assert.equal(report.protocol, 'rest');
    assert.deepEqual(report.mode, { kind: 'open', ratePerS: 8, maxInFlight: 256 });
    assert.deepEqual(report.inputs, { portrait: 2, group: 0, noface: 3 });
    // 2 s at 8 per second: the schedule, not the server's speed, decides how many are due.
    assert.equal(report.requests.sent + report.requests.unsent, 16);
    assert.equal(report.requests.errors, 0);
    assert.equal(report.requests.ok, report.requests.sent);
    assert.deepEqual(Object.keys(report.byKind), ['portrait', 'noface']);
    assertLatency(report.latencyMs);
    assert.deepEqual((await readCsv(`${prefix}_stats.csv`)).slice(1).map((r) => r[0]), ['portrait', 'noface', 'all']);
  });

  it('--images sends the files of a folder, each sorted into a kind by the faces found', async () => {
    const images = join(dir, 'images');
    await mkdir(images);
    await copyFile(join(root, 'test/photos/sample1.jpg'), join(images, 'group.jpg'));
    await sharp({ create: { width: 320, height: 240, channels: 3, background: '#3a6ea5' } }).jpeg().toFile(join(images, 'flat.jpg'));
    await writeFile(join(images, 'notes.txt'), 'not an image');
    const prefix = join(dir, 'folder');
    await bench(['--target', `127.0.0.1:${server.grpcPort}`, '--images', images, '--requests', '6', '--warmup', '0', '--concurrency', '2', '--json', `${prefix}.json`]);
    const report = JSON.parse(await readFile(`${prefix}.json`, 'utf8'));
    assert.deepEqual(report.inputs, { portrait: 0, group: 1, noface: 1 });
    assert.deepEqual(report.mix, { portrait: 0, group: 1, noface: 1 });
    assert.equal(report.requests.errors, 0);
    assert.equal(report.byKind.group.requests, report.byKind.noface.requests, 'each file as often as the other');
    assert.equal(report.byKind.noface.faces, 0);
  });

  it('refuses a target that is not on loopback', async () => {
    await assert.rejects(bench(['--target', '192.0.2.1:50051', '--duration', '1']), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 2);
      assert.match(error.stderr, /--allow-remote/);
      return true;
    });
  });
});
