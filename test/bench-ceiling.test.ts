// Smoke test of `npm run bench:ceiling`: the model-only ceiling on the image
// files of a folder (what the peers section runs on its mix), and a clear
// refusal of a folder that is not there. Figures are not asserted: the
// machine is shared.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const ceiling = (args: string[], timeout = 120_000) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'bench/ceiling.ts', ...args], { cwd: root, encoding: 'utf8', timeout });

describe('npm run bench:ceiling', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'facerec-bench-ceiling-test-'));
    for (const name of ['sample1.jpg', 'sample2.jpg']) await copyFile(join(root, 'test', 'photos', name), join(dir, name));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('--images measures the files of a folder', () => {
    const run = ceiling(['--images', dir, '--passes', '1', '--json']);
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.images, 2);
    assert.ok(result.faces >= 2, `faces: ${result.faces}`);
    assert.equal(result.batchSize, 8);
    assert.ok(result.imagesPerS > 0);
    for (const model of ['detector', 'landmarks', 'embedder']) assert.ok(result.msPerImage[model] > 0, model);
  });

  it('refuses a missing folder and an unknown flag', () => {
    const missing = ceiling(['--images', join(dir, 'nope')], 20_000);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /^bench:ceiling: --images \S+nope: no such folder$/m);
    const unknown = ceiling(['--bogus'], 20_000);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /^bench:ceiling: .*bogus/m);
  });
});
