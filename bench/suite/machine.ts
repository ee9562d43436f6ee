/**
 * What the report's header says about where and on what it ran: the
 * machine, Node, the native libraries the figures depend on (read from
 * their installed package.json, not from our own version ranges), the git
 * commit and the command line.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem, type } from 'node:os';
import { join } from 'node:path';

/** The packages whose versions move the figures most. */
const KEY_PACKAGES = ['onnxruntime-node', 'sharp', '@grpc/grpc-js'] as const;

export interface MachineInfo {
  readonly date: string;
  readonly cpuModel: string;
  /** Logical CPUs the host has. */
  readonly cpus: number;
  /** The CPUs this process may use (affinity, cgroup), what the servers size their workers by. */
  readonly usableCpus: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly packages: Readonly<Record<(typeof KEY_PACKAGES)[number], string>>;
  readonly commit: string;
  readonly loadAvgStart: readonly number[];
}

function packageVersion(root: string, name: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/** The distribution's name where /etc/os-release gives it, then the kernel. */
function osName(): string {
  const kernel = `${type()} ${release()}`;
  if (!existsSync('/etc/os-release')) return kernel;
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
  return pretty ? `${pretty} (${kernel})` : kernel;
}

/** The short commit, marked when the working tree has changes the figures include. */
function gitCommit(root: string): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const commit = git('rev-parse', '--short=12', 'HEAD');
    return git('status', '--porcelain', '--untracked-files=no') === '' ? commit : `${commit} with uncommitted changes`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

export const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

export function machineInfo(root: string): MachineInfo {
  return {
    date: new Date().toISOString(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cpus: cpus().length,
    usableCpus: availableParallelism(),
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    os: osName(),
    node: process.version,
    packages: Object.fromEntries(KEY_PACKAGES.map((name) => [name, packageVersion(root, name)])) as MachineInfo['packages'],
    commit: gitCommit(root),
    loadAvgStart: loadavg().map((v) => round(v)),
  };
}

/** The command line as one would type it again, with arguments quoted where the shell needs it. */
export function commandLine(argv: readonly string[]): string {
  const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`);
  return argv.length === 0 ? 'npm run bench' : `npm run bench -- ${argv.map(quote).join(' ')}`;
}
