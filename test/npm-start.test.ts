/**
 * `npm start` under a supervisor (systemd, a shell's job control, a CI step):
 * SIGTERM to npm's own process must reach the server, which then drains and
 * exits, rather than leave it running as an orphan. npm runs a script through
 * `sh -c`, and dash forks the command instead of replacing itself with it, so
 * npm's signal would stop only the shell; the script therefore starts the
 * server with `exec`.
 *
 * `npm start` runs the compiled server (bin/facerec.js → dist/), as
 * production does. `npm test` compiles it first; run on its own, this file
 * compiles it when dist/ is missing.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

const root = join(import.meta.dirname, '..');

function ensureBuilt(): void {
  if (existsSync(join(root, 'dist/src/cli/main.js'))) return;
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root, encoding: 'utf8' });
  assert.equal(tsc.status, 0, `tsc -p tsconfig.json failed:\n${tsc.stdout}${tsc.stderr}`);
}

/** Parent pid of every process, from /proc (Linux). */
function parentPids(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces, so read after its last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      out.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

/** The process running bin/facerec.js below `ancestor` (with or without a shell between). */
function serverBelow(ancestor: number): number | undefined {
  const parents = parentPids();
  for (const [pid] of parents) {
    let up = parents.get(pid);
    while (up !== undefined && up !== ancestor && up > 1) up = parents.get(up);
    if (up !== ancestor) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((arg) => arg.endsWith('bin/facerec.js'))) return pid;
    } catch {
      // Gone already.
    }
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

it('SIGTERM to `npm start` stops the server it started', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  ensureBuilt();
  const dataDir = await mkdtemp(join(tmpdir(), 'facerec-npm-start-'));
  const npm = spawn('npm', ['start', '--silent'], {
    cwd: root,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? tmpdir(),
      FACEREC_HOST: '127.0.0.1',
      // Any free ports: nothing here connects to the server, only its process matters.
      GRPC_PORT: '0',
      REST_PORT: '0',
      METRICS_PORT: '0',
      DATA_DIR: dataDir,
      FACEREC_PIPELINE__INTRA_OP_THREADS: '1',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const output: string[] = [];
  const npmExited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
  let server: number | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: npm.stderr! }).on('line', (line) => {
        output.push(line);
        if (line.includes('"facerec serving"')) resolve();
      });
      void npmExited.then(() => reject(new Error(`npm start exited before the server served:\n${output.join('\n')}`)));
    });
    server = serverBelow(npm.pid!);
    assert.ok(server, 'the server process runs below npm');

    npm.kill('SIGTERM');
    await npmExited;
    // The server drains (up to FACEREC_SERVER__SHUTDOWN_GRACE_MS, 10 s) and
    // exits; an orphan runs on, so give up after several times that and fail
    // (then `finally` kills it, which a test-runner timeout would not).
    for (let waited = 0; alive(server) && waited < 60_000; waited += 100) await sleep(100);
    assert.ok(!alive(server), `the server (pid ${server}) still runs after npm got SIGTERM`);
    const logged = output.flatMap((line) => {
      try {
        return [JSON.parse(line) as { message: string; signal?: string }];
      } catch {
        return [];
      }
    });
    assert.ok(logged.some((l) => l.message === 'shutting down' && l.signal === 'SIGTERM'), `the server itself got SIGTERM:\n${output.slice(-10).join('\n')}`);
    assert.ok(logged.some((l) => l.message === 'facerec stopped'), 'and drained to the end');
  } finally {
    if (server !== undefined && alive(server)) process.kill(server, 'SIGKILL');
    if (npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  }
});
