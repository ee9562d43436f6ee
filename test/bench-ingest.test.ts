// Smoke test of `npm run bench:ingest`: a --quick run (a dozen photos, one
// round) starts and stops its child servers, runs the minimal client and
// `facerec ingest`, and prints JSON with the figures the README quotes.
// The ratio itself is not asserted: timing belongs to the benchmark.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

describe('bench:ingest --quick --json', () => {
  it('reports the server rate, the ingest job rate and their ratio, with nothing failed', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/ingest.ts', '--quick', '--json'], { cwd: root, encoding: 'utf8', timeout: 180_000 });
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.equal(report.photos, 12);
    assert.equal(report.results.length, 1);
    for (const key of ['serverPhotosPerS', 'ingestPhotosPerS', 'ingestWallS', 'ratio']) assert.ok(report.results[0][key] > 0, key);
    assert.equal(report.target, 0.9);
    assert.equal(typeof report.pass, 'boolean');
  });
});
