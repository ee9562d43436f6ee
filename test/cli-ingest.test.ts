/**
 * `facerec ingest` against the real server: a folder of one-face crops cut
 * from the sample photos, one subject per folder, plus a broken file.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { runCli } from '../src/cli/main.js';
import { call, startTestServer, type TestServer } from './support/facerec-server.js';
import { cropFace, photo } from './support/images.js';

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('facerec ingest', () => {
  let server: TestServer;
  let folder: string;

  before(async () => {
    server = await startTestServer();
    folder = await mkdtemp(join(tmpdir(), 'facerec-ingest-'));
    const group = photo(1);
    const detected = await call(server.client.detect, server.client, { image: group, includeEmbedding: false });
    assert.equal(detected.faces.length, 3);
    for (const [i, face] of detected.faces.entries()) {
      await mkdir(join(folder, `person-${i}`));
      await writeFile(join(folder, `person-${i}`, 'a.jpg'), await cropFace(group, face.box!));
    }
    await writeFile(join(folder, 'person-0', 'broken.jpg'), Buffer.from('not a jpeg'));
    await writeFile(join(folder, 'person-0', 'notes.txt'), 'ignored: not an image extension');
  });

  after(async () => {
    await server.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it('enrols every subject folder, reports the bad file and shows progress', async () => {
    const r = await cli('ingest', folder, '--server', `127.0.0.1:${server.app.grpcPort}`);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.received, 4);
    assert.equal(summary.enrolled, 3);
    assert.equal(summary.failed, 1);
    assert.equal(summary.errors[0].codeName, 'INVALID_ARGUMENT');
    assert.match(summary.errors[0].file, /person-0[/\\]broken\.jpg$/);
    assert.match(r.stderr, /\[ingest\] 4\/4 images sent/);
    const listed = await call(server.client.listSubjects, server.client, { pageSize: 10, pageToken: '' });
    assert.deepEqual(listed.subjects.map((s) => s.subjectId), ['person-0', 'person-1', 'person-2']);
  });

  it('enrols nothing twice when run again', async () => {
    const r = await cli('ingest', folder, '--server', `127.0.0.1:${server.app.grpcPort}`);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.enrolled, 0);
    assert.equal(summary.duplicates, 3);
  });

  it('says clearly when the folder or the server is wrong', async () => {
    const missing = await cli('ingest', join(folder, 'nope'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /INVALID_ARGUMENT: .*cannot read folder/);
    const unreachable = await cli('ingest', folder, '--server', '127.0.0.1:9');
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /RPC_FAILED: .*BulkIngest to 127\.0\.0\.1:9: UNAVAILABLE/);
    assert.equal((await cli('ingest')).code, 2);
  });
});
