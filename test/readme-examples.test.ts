/**
 * The README's examples, run as written: the commands are read from README.md
 * (the quick start and the command-line section) and run in bash against a
 * real `facerec serve` process, with curl as a user would. Only two things are
 * replaced: the address (localhost:8080 becomes the port the server bound) and
 * the photo names (they become photos this test writes). `npx facerec` runs the
 * compiled dist/ that `npm ci` builds; here it runs the same CLI from source,
 * so the test checks the code under test rather than the last build.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { call } from './support/facerec-server.js';
import { cropFace, photo } from './support/images.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

const root = join(import.meta.dirname, '..');
const CLI = `${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(join(root, 'src', 'cli', 'main.ts'))}`;

/** The README from `## title` up to the next `## ` heading. */
function section(readme: string, title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `README has a "## ${title}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** The body of the first ```sh block after `marker`. */
function fencedAfter(text: string, marker: string): string {
  const at = text.indexOf(marker);
  assert.ok(at >= 0, `README has "${marker}"`);
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(at));
  assert.ok(block, `a sh block follows "${marker}"`);
  return block[1]!;
}

/** One command per entry: lines ending in `\` or `|` continue on the next line, as in bash. */
function commandsOf(block: string): string[] {
  const commands: string[] = [];
  let current = '';
  for (const line of block.split('\n')) {
    current += (current ? '\n' : '') + line;
    const code = line.replace(/\s+#.*$/, '').trimEnd();
    if (code.endsWith('\\') || code.endsWith('|')) continue;
    if (current.trim()) commands.push(current);
    current = '';
  }
  return commands;
}

/** The comment at the end of a command: what the README says it does. */
const labelOf = (command: string) => /#\s*([^#\n]+)$/.exec(command)?.[1]?.trim() ?? '';

describe('README examples, run against a real server', () => {
  let readme: string;
  let server: ServerProcess;
  let dir: string;
  const photos = new Map<string, string>();

  /** Runs one README command in bash, with the address and photo names replaced. */
  function run(command: string): { status: number | null; stdout: string; stderr: string } {
    const port = new URL(server.restUrl).port;
    const script = command
      .replaceAll('localhost:8080', `127.0.0.1:${port}`)
      .replaceAll('npx facerec', CLI)
      .replace(/(?<![\w./-])([\w-]+\.(?:jpg|png))(?![\w.-])/g, (name) => {
        const path = photos.get(name);
        assert.ok(path, `the README names ${name}; give this test a photo for it`);
        return JSON.stringify(path);
      });
    const result = spawnSync('bash', ['-c', `set -o pipefail\n${script}`], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    assert.equal(result.status, 0, `${command}\n${result.stderr}`);
    return result;
  }

  before(async () => {
    readme = await readFile(join(root, 'README.md'), 'utf8');
    server = await startServerProcess();
    dir = await mkdtemp(join(tmpdir(), 'facerec-readme-'));
    const group = photo(1);
    const { faces } = await call(server.client.detect, server.client, { image: group, includeEmbedding: false });
    const [ada, other] = await Promise.all([cropFace(group, faces[0]!.box!), cropFace(group, faces[1]!.box!)]);
    // A portrait of the size a camera gives: its base64 is more than one
    // command-line argument may hold, as a user's photo's would be.
    const portrait = await sharp(ada).resize({ width: 1600 }).jpeg({ quality: 95 }).toBuffer();
    assert.ok(portrait.length > 128 * 1024, `portrait is ${portrait.length} bytes`);
    const adaSmall = await sharp(ada).resize({ width: 160 }).jpeg({ quality: 70 }).toBuffer();
    const files: Record<string, Buffer> = {
      'ada.jpg': portrait,
      'group.jpg': group,
      'ada-1.jpg': ada,
      'ada-2.jpg': adaSmall,
      'photo.jpg': photo(2),
      'a.jpg': ada,
      'b.jpg': other,
    };
    for (const [name, bytes] of Object.entries(files)) {
      const path = join(dir, name);
      await writeFile(path, bytes);
      photos.set(name, path);
    }
  });
  after(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('quick start: service info, enrol Ada with curl, recognise her in a group photo with -F file=@…', () => {
    const commands = commandsOf(fencedAfter(section(readme, 'Quick start'), 'Then, with the server running:'));
    assert.deepEqual(commands.map(labelOf), ['service info', 'enrol', 'recognise']);
    const [info, enrol, recognise] = commands.map((command) => JSON.parse(run(command).stdout) as Record<string, unknown>);

    assert.equal(info!['service'], 'facerec.v1.FaceRecognition');
    assert.equal(enrol!['subject_id'], 'ada', JSON.stringify(enrol));
    assert.equal(enrol!['duplicate'], false);
    const faces = recognise!['faces'] as Array<{ matches: Array<{ subject_id: string }> }>;
    assert.equal(faces.length, 3);
    const adaAt = faces.findIndex((face) => face.matches[0]?.subject_id === 'ada');
    assert.ok(adaAt >= 0, 'Ada is recognised in the group photo');
    assert.deepEqual((recognise!['payloads'] as unknown[][])[adaAt], [{ name: 'Ada' }]);
    assert.equal(faces.filter((face) => face.matches.length > 0).length, 1, 'nobody else is');
  });

  it('quick start without a server: the npx facerec commands print JSON', () => {
    const inline = [...section(readme, 'Quick start').matchAll(/`(npx facerec [^`]+)`/g)].map((m) => m[1]!);
    assert.deepEqual(inline.map((c) => c.split(' ')[2]), ['detect', 'compare']);
    const [detect, compare] = inline.map((command) => JSON.parse(run(command).stdout) as Record<string, unknown>);
    assert.equal((detect!['faces'] as unknown[]).length, 3);
    assert.equal(typeof compare!['similarity'], 'number');
    assert.equal(compare!['match'], false, 'a.jpg and b.jpg are two people');
  });

  it('command line: npx facerec compare prints what the README shows', () => {
    const block = fencedAfter(section(readme, 'Command line'), '```sh\n$ npx facerec compare');
    const [command, ...shown] = block.trim().split('\n');
    assert.match(command!, /^\$ npx facerec compare /);
    const output = JSON.parse(run(command!.slice(2)).stdout) as Record<string, unknown>;
    // The README elides with …; every field it does show is there, with the same type
    // (the similarity depends on the photos) and the same verdict and threshold.
    const fields = [...shown.join('\n').matchAll(/"(\w+)": ([^,}]+)/g)].map((m) => [m[1]!, JSON.parse(m[2]!.trim())] as const);
    assert.deepEqual(fields.map(([key]) => key), ['similarity', 'threshold', 'match']);
    for (const [key, value] of fields) {
      assert.equal(typeof output[key], typeof value, key);
      if (key !== 'similarity') assert.equal(output[key], value, key);
    }
  });
});
