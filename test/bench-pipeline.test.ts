// Smoke test of `npm run bench:pipeline`: the quick run finishes and its JSON
// carries every figure the Speed section of docs/pipeline.md quotes. Timings
// are not asserted (the machine is shared); face counts are.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

describe('bench:pipeline --quick --json', () => {
  it('prints machine, settings, per-stage times, throughput and the ORT ratio for both image sets', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/pipeline.ts', '--quick', '--json'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.ok(report.machine.cores >= 1);
    assert.match(report.machine.onnxruntime, /^\d+\.\d+/);
    assert.equal(report.settings.passes, 1);
    assert.equal(typeof report.pass, 'boolean');
    assert.deepEqual(report.results.map((r: { set: string }) => r.set), ['640x480 one-face JPEG', '1920px group photos']);

    const [small, group] = report.results;
    assert.ok(small.imageCount >= 1);
    assert.equal(small.sequential.faces, small.imageCount); // each crop was kept for holding exactly one face
    assert.equal(group.sequential.faces, 3 + 3 + 3 + 4 + 5 + 4); // test/pipeline.test.ts counts
    for (const result of report.results) {
      for (const stage of ['decode', 'detect', 'landmarks', 'align', 'embed']) {
        assert.ok(result.sequential.stages[stage].meanMs > 0, `${result.set} ${stage}`);
      }
      for (const mode of [result.sequential, result.concurrent]) {
        assert.equal(mode.faces, result.sequential.faces);
        assert.ok(mode.wallMs > 0 && mode.ortAloneMs > 0);
        assert.equal(typeof mode.overheadRatio, 'number');
        assert.equal(mode.pass, mode.overheadRatio <= report.target);
      }
    }
  });
});
