import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isFacerecError } from '../errors.js';
import { ensureTarball, extractVerified, integrityOf, sha256Of, tarballName, type PackFn } from './fetch.js';

// A fake package tarball built with tar, standing in for `npm pack` so that no network is needed.
let work: string;
let tarball: string;
let integrity: string;
const goodBytes = Buffer.from('pretend model weights\n');
const goodSha = sha256Of(goodBytes);

before(() => {
  work = mkdtempSync(join(tmpdir(), 'facerec-fetch-'));
  const src = join(work, 'src');
  mkdirSync(join(src, 'package', 'model'), { recursive: true });
  writeFileSync(join(src, 'package', 'model', 'a.onnx'), goodBytes);
  writeFileSync(join(src, 'package', 'model', 'other.onnx'), 'not wanted');
  tarball = join(work, 'fake-pkg-1.0.0.tgz');
  execFileSync('tar', ['-czf', tarball, '-C', src, 'package']);
  integrity = integrityOf(tarball);
});

after(() => rmSync(work, { recursive: true, force: true }));

function countingPack(): PackFn & { calls: number } {
  const pack = (async (_spec: string, destDir: string) => {
    pack.calls++;
    const dest = join(destDir, 'fake-pkg-1.0.0.tgz');
    copyFileSync(tarball, dest);
    return dest;
  }) as PackFn & { calls: number };
  pack.calls = 0;
  return pack;
}

describe('tarballName', () => {
  it('names scoped packages as npm pack does', () => {
    assert.equal(tarballName('@vladmandic/face-api', '1.7.15'), 'vladmandic-face-api-1.7.15.tgz');
    assert.equal(tarballName('faceplugin-face-recognition-js', '0.0.1'), 'faceplugin-face-recognition-js-0.0.1.tgz');
  });
});

describe('ensureTarball', () => {
  it('packs once, then reuses the cached tarball', async () => {
    const cacheDir = join(work, 'cache-ok');
    const pack = countingPack();
    const options = { packageName: 'fake-pkg', version: '1.0.0', integrity, cacheDir, pack };
    const first = await ensureTarball(options);
    const second = await ensureTarball(options);
    assert.equal(first, second);
    assert.equal(pack.calls, 1);
  });

  it('rejects a tarball whose integrity differs, naming both values, and leaves nothing cached', async () => {
    const cacheDir = join(work, 'cache-bad');
    const wrong = 'sha512-' + Buffer.alloc(64).toString('base64');
    await assert.rejects(
      ensureTarball({ packageName: 'fake-pkg', version: '1.0.0', integrity: wrong, cacheDir, pack: countingPack() }),
      (error: unknown) => {
        assert.ok(isFacerecError(error, 'ASSET_INTEGRITY'));
        assert.match(error.message, /fake-pkg@1\.0\.0 tarball/);
        assert.ok(error.message.includes(wrong) && error.message.includes(integrity));
        return true;
      },
    );
    assert.equal(existsSync(join(cacheDir, 'fake-pkg-1.0.0.tgz')), false);
  });
});

describe('extractVerified', () => {
  it('extracts only the listed file to its destination', async () => {
    const dest = join(work, 'out-ok', 'a.onnx');
    await extractVerified(tarball, [{ file: 'package/model/a.onnx', sha256: goodSha, dest }], join(work, 'stage'));
    assert.ok(existsSync(dest));
    assert.equal(existsSync(join(work, 'out-ok', 'other.onnx')), false);
  });

  it('refuses a file whose sha256 differs, naming the file and both hashes, and writes nothing', async () => {
    const dest = join(work, 'out-bad', 'a.onnx');
    const wrong = '0'.repeat(64);
    await assert.rejects(extractVerified(tarball, [{ file: 'package/model/a.onnx', sha256: wrong, dest }], join(work, 'stage')), (error: unknown) => {
      assert.ok(isFacerecError(error, 'ASSET_INTEGRITY'));
      assert.ok(error.message.includes('package/model/a.onnx'));
      assert.ok(error.message.includes(wrong) && error.message.includes(goodSha));
      return true;
    });
    assert.equal(existsSync(dest), false);
  });

  it('reports a file missing from the tarball as a fetch failure', async () => {
    const dest = join(work, 'out-missing', 'b.onnx');
    await assert.rejects(extractVerified(tarball, [{ file: 'package/model/b.onnx', sha256: goodSha, dest }], join(work, 'stage')), (error: unknown) =>
      isFacerecError(error, 'ASSET_FETCH_FAILED'),
    );
  });
});
