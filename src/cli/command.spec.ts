import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCommandArgs, splitCommandLine, UsageError, type FlagOptions } from './command.js';
import { COMMANDS, runCli } from './main.js';

const own = {
  server: { type: 'string', description: 'where' },
  dry: { type: 'boolean', description: 'only pretend' },
} as const satisfies FlagOptions;

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('splitCommandLine', () => {
  it('gives the command its own flags and positionals, and loadConfig the settings', () => {
    const split = splitCommandLine(['photos', '--server', 'h:1', '--models-dir=/m', '--dry', '--grpc-port', '0'], own);
    assert.deepEqual(split, { commandArgs: ['--server=h:1', '--dry', 'photos'], settingsArgs: ['--models-dir=/m', '--grpc-port=0'], help: false });
    const parsed = parseCommandArgs(split.commandArgs, own);
    assert.deepEqual({ ...parsed.values }, { server: 'h:1', dry: true });
    assert.deepEqual(parsed.positionals, ['photos']);
  });

  it('keeps a positional that looks like a flag positional', () => {
    const split = splitCommandLine(['--dry', '--', '-odd.jpg'], own);
    assert.deepEqual(split.commandArgs, ['--dry', '--', '-odd.jpg']);
    assert.deepEqual(parseCommandArgs(split.commandArgs, own).positionals, ['-odd.jpg']);
  });

  it('refuses an unknown flag and a flag without its value as usage errors', () => {
    assert.throws(() => splitCommandLine(['--nope'], own), (e) => e instanceof UsageError && /--nope/.test(e.message));
    assert.throws(() => splitCommandLine(['--server'], own), (e) => e instanceof UsageError && /--server/.test(e.message));
    assert.throws(() => parseCommandArgs(['x'], own, false), UsageError);
  });

  it('sees --help and -h anywhere', () => {
    assert.equal(splitCommandLine(['a', '--help'], own).help, true);
    assert.equal(splitCommandLine(['-h'], own).help, true);
  });
});

describe('facerec <command> --help', () => {
  it('prints each command\'s usage and every flag it takes, and exits 0', async () => {
    for (const [name, command] of Object.entries(COMMANDS)) {
      for (const help of ['--help', '-h']) {
        const r = await cli(name, help);
        assert.equal(r.code, 0, `${name} ${help}: ${r.stderr}`);
        assert.ok(r.stdout.startsWith(`usage: ${command.usage}`), `${name} ${help}:\n${r.stdout}`);
        for (const flag of [...Object.keys(command.ownOptions ?? {}), 'models-dir', 'grpc-port']) assert.match(r.stdout, new RegExp(`--${flag}\\b`), `${name} --help lacks --${flag}`);
      }
    }
  });

  it('answers facerec help <command> the same way, and facerec help with every command', async () => {
    assert.equal((await cli('help', 'token')).stdout, (await cli('token', '--help')).stdout);
    const all = await cli('help');
    for (const command of Object.values(COMMANDS)) assert.ok(all.stdout.includes(command.usage));
    assert.equal((await cli('help', 'frobnicate')).code, 2);
  });

  it('names a wrong flag with the command\'s usage, exit code 2', async () => {
    const r = await cli('token', '--scopes', 'faces:read');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /'--scopes'/);
    assert.match(r.stderr, /usage: facerec token \[--scope <scopes>\]/);
  });
});
