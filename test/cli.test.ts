import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../src/cli/main.js';

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

const photo = (n: number) => join(import.meta.dirname, 'photos', `sample${n}.jpg`);

describe('facerec CLI', () => {
  it('prints help listing every command', async () => {
    const r = await cli('help');
    assert.equal(r.code, 0);
    for (const name of ['detect', 'embed', 'compare']) assert.match(r.stdout, new RegExp(`facerec ${name}`));
  });

  it('rejects an unknown command and a missing argument with exit code 2', async () => {
    assert.equal((await cli('frobnicate')).code, 2);
    const r = await cli('compare', photo(1));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /usage: facerec compare <a> <b>/);
  });

  it('reports a bad file in one line on stderr with a non-zero exit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'facerec-cli-'));
    const bad = join(dir, 'not-an-image.jpg');
    writeFileSync(bad, 'this is text, not a JPEG');
    const r = await cli('detect', bad);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.split('\n').length, 1);
    assert.match(r.stderr, /^facerec: IMAGE_UNSUPPORTED: /);
    const missing = await cli('embed', join(dir, 'missing.jpg'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read .*missing\.jpg \(ENOENT\)/);
  });

  it('detect prints boxes, scores and 5 landmarks; embed adds 512 numbers', async () => {
    const detect = JSON.parse((await cli('detect', photo(4))).stdout);
    assert.equal(detect.faces.length, 4);
    assert.equal(detect.faces[0].landmarks.length, 5);
    const embed = JSON.parse((await cli('embed', photo(4))).stdout);
    assert.equal(embed.faces[0].embedding.length, 512);
  });

  it('compare gives the similarity of the largest faces and the verdict at the default threshold', async () => {
    const same = JSON.parse((await cli('compare', photo(3), photo(3))).stdout);
    assert.ok(same.similarity > 0.99 && same.match === true);
    const different = JSON.parse((await cli('compare', photo(1), photo(2), '--similarity-threshold', '0.9')).stdout);
    assert.equal(different.threshold, 0.9);
    assert.equal(different.match, false);
  });
});
