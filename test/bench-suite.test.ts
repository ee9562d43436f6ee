// Smoke test of `npm run bench`: a quick pass of two short sections writes
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

  it('--quick --only ceiling,store writes the header and both sections\' tables', async () => {
    const out = join(dir, 'BENCHMARKS.md');
    const json = join(dir, 'figures.json');
    const run = suite(['--quick', '--only', 'ceiling,store', '--out', out, '--json', json], 240_000);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /\[bench \d\d:\d\d\] == Against the ceiling \(1\/2\)/, 'progress on stderr');

    const markdown = await readFile(out, 'utf8');
    assert.match(markdown, /^# facerec benchmarks \(quick pass\)\n/);
    for (const field of ['Date', 'Machine', 'Node', 'Git commit', 'Command', 'Duration']) assert.match(markdown, new RegExp(`^- \\*\\*${field}\\*\\*: \\S`, 'm'), field);
    assert.match(markdown, /onnxruntime-node \d+\.\d+\.\d+, sharp \d+\.\d+\.\d+, @grpc\/grpc-js \d+\.\d+\.\d+/);
    assert.match(markdown, /^- \*\*Command\*\*: `npm run bench -- --quick --only ceiling,store --out \S+ --json \S+`$/m);
    assert.match(markdown, /^## 1\. Against the ceiling\n/m);
    assert.match(markdown, /^\| Run \| images\/s \| p50 ms \| p99 ms \| errors \|$/m);
    assert.match(markdown, /^\| \*\*Served \/ ceiling\*\* \(mean ceiling \d+\.\d\) \| \*\*\d+\.\d\d\*\* \|/m);
    assert.match(markdown, /^## 2\. Store\n/m);
    assert.match(markdown, /^\| 10k \| exact \| \d+ \|/m);
    assert.match(markdown, /npm run bench:store -- --sizes 1m/);
    assert.doesNotMatch(markdown, /## \d\. (Batching|Against peers|Latency|Memory|Streams)/);

    const report = JSON.parse(await readFile(json, 'utf8'));
    assert.deepEqual(report.sections.map((s: { name: string; status: string }) => `${s.name}:${s.status}`), ['ceiling:ok', 'store:ok']);
    const ceiling = report.sections[0].data;
    assert.ok(ceiling.ceilingBefore.imagesPerS > 0 && ceiling.ceilingAfter.imagesPerS > 0);
    assert.ok(ceiling.served16.throughput.reqPerS > 0);
    assert.equal(ceiling.served16.requests.errors, 0);
    assert.equal(report.sections[1].data[0].size, 10_000);
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
