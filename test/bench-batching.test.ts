// Smoke test of `npm run bench:batching`: a tiny --quick run (both server
// configurations, concurrency 1 and 16) finishes, kills its child servers and
// prints JSON with every figure docs/batching.md quotes. Timings and PASS/FAIL
// are not asserted: the machine is shared.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

describe('bench:batching --quick --json', () => {
  it('reports throughput, latency and batch sizes per configuration and concurrency, and both checks', () => {
    const args = ['--import', 'tsx', 'bench/batching.ts', '--quick', '--json', '--concurrency', '1,16', '--duration-ms', '300', '--warmup-ms', '100'];
    const run = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 90_000 });
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.equal(report.images, 'small');
    assert.equal(report.loadAvgStart.length, 3);
    assert.deepEqual(
      report.points.map((p: { batching: string; concurrency: number }) => `${p.batching}/${p.concurrency}`),
      ['on/1', 'on/16', 'off/1', 'off/16'],
    );
    for (const point of report.points) {
      assert.ok(point.requests > 0, `${point.batching}/${point.concurrency} made requests`);
      assert.equal(point.errors, 0);
      for (const key of ['reqPerS', 'facesPerS', 'p50Ms', 'p99Ms', 'loadAvg1m']) assert.equal(typeof point[key], 'number', key);
      for (const model of ['detector', 'landmarks', 'embedder']) assert.ok(point.meanBatchSize[model] >= 1, model);
      if (point.batching === 'off') for (const size of Object.values(point.meanBatchSize)) assert.equal(size, 1);
    }
    assert.equal(typeof report.checks.throughput.pass, 'boolean');
    assert.equal(typeof report.checks.throughput.onOverOff, 'number');
    assert.equal(typeof report.checks.latency.pass, 'boolean');
    assert.equal(report.checks.latency.maxMs, 2);
  });
});
