// Every bench script answers --help with its flags and refuses a bad flag
// with one line and status 2, before it loads models or starts a server.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const run = (script: string, args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });

/** npm script → file, and one flag each script must list. */
const SCRIPTS: ReadonlyArray<readonly [string, string, string]> = [
  ['bench:ceiling', 'bench/ceiling.ts', '--images <dir>'],
  ['bench:pipeline', 'bench/pipeline.ts', '--concurrency <n>'],
  ['bench:batching', 'bench/batching.ts', '--images <small|group>'],
  ['bench:runner', 'bench/batched-runner.ts', '--items <n>'],
  ['bench:store', 'bench/store.ts', '--sizes <n,…>'],
  ['bench:stream', 'bench/stream.ts', '--cameras <n,…>'],
  ['bench:ingest', 'bench/ingest.ts', '--photos <n>'],
  ['bench:footprint', 'bench/footprint.ts', '--data-dir <dir>'],
];

describe('bench scripts\' flags', () => {
  for (const [script, file, flag] of SCRIPTS) {
    it(`${script}: --help lists its flags, an unknown flag is a usage error`, () => {
      const help = run(file, ['--help']);
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, new RegExp(`^usage: npm run ${script} -- \\[flags\\]$`, 'm'));
      assert.ok(help.stdout.includes(flag), `${script} --help lacks ${flag}:\n${help.stdout}`);
      assert.match(help.stdout, /-h, --help/);

      const bad = run(file, ['--no-such-flag']);
      assert.equal(bad.status, 2, bad.stderr);
      assert.match(bad.stderr, new RegExp(`^${script}: .*no-such-flag`, 'm'));
      assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
    });
  }

  it('a flag value out of range names the flag and the range', () => {
    const bad = run('bench/stream.ts', ['--fps', '0']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^bench:stream: --fps must be a number from 0\.1 to 120, not "0"$/m);
  });
});
