/**
 * Runs one benchmark as a child process and hands back its stdout.
 *
 * Each benchmark gets a process of its own, so nothing of one run (its
 * server, its models, its garbage) takes CPU or memory from the next, and
 * the suite itself stays an idle parent. A child runs in its own process
 * group: benchmarks start servers of their own, and a timeout or Ctrl-C
 * stops the whole group, grandchildren included, not just the benchmark.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildOptions {
  /** What the progress lines call it. */
  readonly label: string;
  /** Killed (with its process group) after this long. */
  readonly timeoutS: number;
  readonly cwd: string;
  /** Added to the suite's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Progress lines for a person watching. */
  readonly progress: (line: string) => void;
}

export interface ChildResult {
  readonly stdout: string;
  readonly seconds: number;
}

/** A child that failed: its exit status and the end of what it wrote on stderr. */
export class ChildFailure extends Error {
  override readonly name = 'ChildFailure';
}

const HEARTBEAT_MS = 30_000;
const STDERR_TAIL_CHARS = 3000;
const KILL_GRACE_MS = 5000;

const running = new Set<ChildProcess>();

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // Already gone.
  }
}

/** Stops every running child's process group: SIGTERM, then SIGKILL for what is left. */
export async function stopChildren(): Promise<void> {
  const children = [...running];
  for (const child of children) signalGroup(child, 'SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, children.length ? KILL_GRACE_MS : 0));
  for (const child of children) signalGroup(child, 'SIGKILL');
}

/** Runs `argv` (program first) and resolves with its stdout once it exits with status 0. */
export function runChild(argv: readonly string[], options: ChildOptions): Promise<ChildResult> {
  const started = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.add(child);
  const stdout: Buffer[] = [];
  let stderrTail = '';
  child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-STDERR_TAIL_CHARS);
  });
  const seconds = () => (performance.now() - started) / 1000;
  const heartbeat = setInterval(() => options.progress(`${options.label}: still running (${seconds().toFixed(0)} s)`), HEARTBEAT_MS);
  let timedOut = false;
  const timeout = setTimeout(() => {
    timedOut = true;
    signalGroup(child, 'SIGTERM');
    setTimeout(() => signalGroup(child, 'SIGKILL'), KILL_GRACE_MS).unref();
  }, options.timeoutS * 1000);
  return new Promise((resolve, reject) => {
    const finish = () => {
      clearInterval(heartbeat);
      clearTimeout(timeout);
      running.delete(child);
    };
    child.once('error', (error) => {
      finish();
      reject(new ChildFailure(`${options.label}: could not start (${error.message})`));
    });
    child.once('close', (code, signal) => {
      finish();
      if (code === 0) {
        resolve({ stdout: Buffer.concat(stdout).toString('utf8'), seconds: seconds() });
        return;
      }
      const why = timedOut ? `timed out after ${options.timeoutS} s` : signal ? `killed by ${signal}` : `exit status ${code}`;
      reject(new ChildFailure(`${options.label}: ${why}\n${stderrTail.trim()}`));
    });
  });
}
