// Smoke test of `npm run bench`: a quick pass of its two shortest sections writes
// the markdown report with its header and their tables, and the JSON with
// the same sections; bad flags are refused before anything runs. Figures
// are not asserted: the machine is shared.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const suite = (args: string[], timeout = 10_000) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'bench/suite.ts', ...args], { cwd: root, encoding: 'utf8', timeout });

describe('npm run bench', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'facerec-bench-suite-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('--quick --only store,streams writes the header and both sections\' tables', async () => {
    const out = join(dir, 'BENCHMARKS.md');
    const json = join(dir, 'figures.json');
    const run = suite(['--quick', '--only', 'streams,store', '--out', out, '--json', json], 180_000);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /\[bench \d\d:\d\d\] == Store \(1\/2\)/, 'progress on stderr');

    const markdown = await readFile(out, 'utf8');
    assert.match(markdown, /^# facerec benchmarks \(quick pass\)\n/);
    for (const field of ['Date', 'Machine', 'Node', 'Git commit', 'Command', 'Duration']) assert.match(markdown, new RegExp(`^- \\*\\*${field}\\*\\*: \\S`, 'm'), field);
    assert.match(markdown, /onnxruntime-node \d+\.\d+\.\d+, sharp \d+\.\d+\.\d+, @grpc\/grpc-js \d+\.\d+\.\d+/);
    assert.match(markdown, /^- \*\*Command\*\*: `npm run bench -- --quick --only streams,store --out \S+ --json \S+`$/m);
    // Document order, whatever order --only names them in.
    assert.match(markdown, /^## 1\. Store\n/m);
    assert.match(markdown, /^Alone: `npm run bench:store -- --sizes 10k --queries 200`$/m);
    assert.match(markdown, /^\| Faces \| Search \| Insert\/s \|/m);
    assert.match(markdown, /^\| 10k \| exact \| \d+ \|/m);
    assert.match(markdown, /npm run bench:store -- --sizes 1m/);
    assert.match(markdown, /^## 2\. Streams\n/m);
    assert.match(markdown, /^\| Cameras \| fps each \| sent \| processed \| skipped \|/m);
    assert.match(markdown, /^\| 2 \| 10 \| \d+ \| \d+ \| \d+ \(/m);
    assert.doesNotMatch(markdown, /## \d\. (Against the ceiling|Batching|Against peers|Latency|Memory)/);

    const report = JSON.parse(await readFile(json, 'utf8'));
    assert.deepEqual(report.sections.map((s: { name: string; status: string }) => `${s.name}:${s.status}`), ['store:ok', 'streams:ok']);
    assert.equal(report.sections[0].data[0].size, 10_000);
    assert.ok(report.sections[1].data.rows[0].sent > 0);
    assert.equal(typeof report.machine.cpuModel, 'string');
  });

  it('refuses an unknown section and prints help', () => {
    const bad = suite(['--only', 'ceiling,nope']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--only takes ceiling, batching, peers, latency, memory, store, streams/);
    const help = suite(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--quick/);
    assert.match(help.stdout, /--eval <dir>/);
  });
});
