// Smoke test of bench/peers/run.ts (the same photos through @vladmandic/face-api
// and @vladmandic/human on tfjs wasm): a quick run on the test photos, with a
// tiny evaluation set cut from them, writes the JSON report in its documented
// shape and each library finds faces. bench/peers is its own npm package; when
// its node_modules is missing the test installs it and skips if that fails
// (no registry, e.g. offline). Timings are never asserted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { portraitsWithoutServer } from '../bench/ceiling.js';

const root = join(import.meta.dirname, '..');
const peers = join(root, 'bench', 'peers');

/** Installs bench/peers from its lock file when needed; the reason it could not, or undefined. */
function installPeers(): string | undefined {
  if (existsSync(join(peers, 'node_modules', '@vladmandic'))) return undefined;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const run = spawnSync(npm, ['ci', '--prefix', 'bench/peers', '--no-audit', '--no-fund'], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  if (run.status === 0) return undefined;
  const firstLines = (run.stderr || run.error?.message || '').trim().split('\n').slice(0, 2).join('; ');
  return `npm ci --prefix bench/peers failed (offline?): ${firstLines}`;
}

/** Two "subjects", each a portrait and a smaller, recompressed copy of it: the eval path, not the libraries' accuracy. */
async function writeTinyEvalSet(dir: string): Promise<void> {
  const [first, second] = await portraitsWithoutServer(2);
  for (const [subject, bytes] of [['a', first], ['b', second]] as const) {
    assert.ok(bytes, 'two portraits cut from test/photos');
    await mkdir(join(dir, 'identities', subject), { recursive: true });
    await writeFile(join(dir, 'identities', subject, '1.jpg'), bytes);
    await writeFile(join(dir, 'identities', subject, '2.jpg'), await sharp(bytes).resize(200, 200).jpeg({ quality: 70 }).toBuffer());
  }
}

describe('bench/peers/run.ts --quick --json', () => {
  let dir: string;
  let skipReason: string | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'facerec-bench-peers-'));
    skipReason = installPeers();
    if (!skipReason) await writeTinyEvalSet(join(dir, 'eval'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs both libraries on wasm, finds faces and scores the identity crops', async (t) => {
    if (skipReason) {
      t.skip(skipReason);
      return;
    }
    const out = join(dir, 'peers.json');
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'bench/peers/run.ts', '--images', 'test/photos', '--quick', '--workers', '2', '--eval', join(dir, 'eval'), '--json', out],
      { cwd: root, encoding: 'utf8', timeout: 280_000 },
    );
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(await readFile(out, 'utf8'));
    assert.ok(report.machine.cpus >= 1);
    assert.equal(typeof report.machine.cpuModel, 'string');
    assert.match(report.machine.node, /^v\d+/);
    assert.equal(typeof report.machine.os, 'string');
    assert.deepEqual(report.libraries.map((l: { library: string }) => l.library), ['@vladmandic/face-api', '@vladmandic/human']);
    for (const l of report.libraries) {
      assert.match(l.version, /^\d+\.\d+\.\d+/);
      assert.equal(l.backend, 'wasm');
      assert.match(l.tfjsVersion, /^\d+\.\d+\.\d+/);
      assert.equal(l.workers, 2);
      assert.equal(l.images, 3);
      assert.ok(l.faces > 0, `${l.library} found no face in the group photos`);
      assert.ok(l.seconds > 0);
      assert.ok(Math.abs(l.imagesPerS - l.images / l.seconds) < 1e-9);
      assert.ok(Math.abs(l.facesPerS - l.faces / l.seconds) < 1e-9);
      const e = l.eval;
      assert.ok(e.verificationAccuracy >= 0 && e.verificationAccuracy <= 1);
      assert.equal(typeof e.threshold, 'number');
      assert.equal(e.rankOne.total, 4);
      assert.ok(e.rankOne.correct <= e.rankOne.total);
      assert.ok(Number.isInteger(e.undetected) && e.undetected < 4, `${l.library} found a face in none of the crops`);
    }
  });
});
