import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isFacerecError } from '../errors.js';
import { sha256Of, type PackFn } from './fetch.js';
import { loadSourceManifest } from './manifest.js';
import { buildIsCurrent, prepareLayout, prepareModels } from './prepare.js';

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'facerec-prepare-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

const refusingPack: PackFn = async (spec) => {
  throw new Error(`unexpected npm pack ${spec}`);
};

describe('prepareModels', () => {
  it('fetches and builds nothing when the photos and derived models are in place', async () => {
    const lines: string[] = [];
    await prepareModels({ pack: refusingPack, log: (line) => lines.push(line) });
    assert.deepEqual(lines, ['test photos: up to date', 'derived models: up to date']);
  });

  it('fails with ASSET_INTEGRITY when a tarball does not match the manifest', async () => {
    const root = join(work, 'root');
    const src = join(work, 'pkg');
    mkdirSync(join(src, 'package'), { recursive: true });
    writeFileSync(join(src, 'package', 'a.jpg'), 'not a photo');
    const tarball = join(work, 'fake-1.0.0.tgz');
    execFileSync('tar', ['-czf', tarball, '-C', src, 'package']);
    const pack: PackFn = async (_spec, destDir) => {
      cpSync(tarball, join(destDir, 'fake-1.0.0.tgz'));
      return join(destDir, 'fake-1.0.0.tgz');
    };
    const source = { package: 'fake', version: '1.0.0', integrity: 'sha512-' + Buffer.alloc(64).toString('base64'), license: 'MIT', copyright: '' };
    mkdirSync(join(root, 'models'), { recursive: true });
    writeFileSync(
      join(root, 'models', 'manifest.json'),
      JSON.stringify({ models: { ...source, files: {} }, photos: { ...source, files: { 'a.jpg': { file: 'package/a.jpg', sha256: sha256Of(Buffer.from('x')) } } } }),
    );
    await assert.rejects(prepareModels({ root, pack, log: () => {} }), (error: unknown) => {
      assert.ok(isFacerecError(error, 'ASSET_INTEGRITY'));
      assert.match(error.message, /fake@1\.0\.0 tarball: expected sha512-/);
      return true;
    });
  });
});

describe('buildIsCurrent', () => {
  it('notices a changed recipe version and a tampered model', () => {
    const manifest = loadSourceManifest();
    const copy = join(work, 'build');
    cpSync(prepareLayout().buildDir, copy, { recursive: true });
    assert.equal(buildIsCurrent(manifest, copy), true);

    const buildManifest = JSON.parse(readFileSync(join(copy, 'manifest.json'), 'utf8'));
    writeFileSync(join(copy, 'manifest.json'), JSON.stringify({ ...buildManifest, recipeVersion: -1 }));
    assert.equal(buildIsCurrent(manifest, copy), false);

    writeFileSync(join(copy, 'manifest.json'), JSON.stringify(buildManifest));
    const landmarks = readFileSync(join(copy, 'landmarks.onnx'));
    const last = landmarks.length - 1;
    landmarks.writeUInt8(landmarks.readUInt8(last) ^ 1, last);
    writeFileSync(join(copy, 'landmarks.onnx'), landmarks);
    assert.equal(buildIsCurrent(manifest, copy), false);
  });

  it('notices a missing image graph', () => {
    const manifest = loadSourceManifest();
    const copy = join(work, 'build-graphs');
    cpSync(prepareLayout().buildDir, copy, { recursive: true });
    assert.equal(buildIsCurrent(manifest, copy), true);
    rmSync(join(copy, 'face-warp.onnx'));
    assert.equal(buildIsCurrent(manifest, copy), false);
  });
});
