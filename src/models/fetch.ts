/**
 * Fetches npm package tarballs with `npm pack` and unpacks chosen files.
 *
 * Going through npm rather than a raw URL means the user's registry, proxy
 * and cache settings apply, and npm's own SRI string pins the bytes. Every
 * file taken out of a tarball is checked against its sha256 before it is
 * moved into place, so a bad file never sits at a path the pipeline reads.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { FacerecError } from '../errors.js';

const execFileAsync = promisify(execFile);

/** Puts the tarball for `spec` (`name@version`) into `destDir` and returns its path. */
export type PackFn = (spec: string, destDir: string) => Promise<string>;

export interface TarballOptions {
  readonly packageName: string;
  readonly version: string;
  /** npm's SRI string, `sha512-<base64>`. */
  readonly integrity: string;
  readonly cacheDir: string;
  /** Replaced in tests so that no network is needed. */
  readonly pack?: PackFn;
  readonly log?: (line: string) => void;
}

export interface ExtractEntry {
  /** Path inside the tarball. */
  readonly file: string;
  readonly sha256: string;
  /** Where the checked file ends up. */
  readonly dest: string;
}

export function sha256Of(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256File(path: string): string {
  return sha256Of(readFileSync(path));
}

/** The sha256 of `path`, or undefined when it does not exist. */
export function sha256IfExists(path: string): string | undefined {
  return existsSync(path) ? sha256File(path) : undefined;
}

/** SRI string of a file in the algorithm the expected string names (npm uses sha512). */
export function integrityOf(path: string, algorithm = 'sha512'): string {
  return `${algorithm}-${createHash(algorithm).update(readFileSync(path)).digest('base64')}`;
}

/** `npm pack` names `@scope/name@1.2.3` as `scope-name-1.2.3.tgz`. */
export function tarballName(packageName: string, version: string): string {
  return `${packageName.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
}

export const npmPack: PackFn = async (spec, destDir) => {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync('npm', ['pack', spec, '--json', '--pack-destination', destDir], {
      cwd: destDir,
      maxBuffer: 16 * 1024 * 1024,
    }));
  } catch (cause) {
    throw new FacerecError('ASSET_FETCH_FAILED', `npm pack ${spec}`, { cause });
  }
  const report = JSON.parse(stdout) as { filename: string }[];
  const filename = report[0]?.filename;
  if (!filename) throw new FacerecError('ASSET_FETCH_FAILED', `npm pack ${spec} reported no file`);
  return join(destDir, basename(filename));
};

/**
 * Returns the path of the package's tarball in `cacheDir`, packing it only
 * when it is missing or its cached bytes do not match the integrity string.
 */
export async function ensureTarball(options: TarballOptions): Promise<string> {
  const { packageName, version, integrity, cacheDir } = options;
  const algorithm = integrity.split('-', 1)[0]!;
  const cached = join(cacheDir, tarballName(packageName, version));
  if (existsSync(cached) && integrityOf(cached, algorithm) === integrity) return cached;

  mkdirSync(cacheDir, { recursive: true });
  rmSync(cached, { force: true });
  options.log?.(`fetching ${packageName}@${version} (npm pack)`);
  const packed = await (options.pack ?? npmPack)(`${packageName}@${version}`, cacheDir);
  if (packed !== cached) renameSync(packed, cached);
  const actual = integrityOf(cached, algorithm);
  if (actual !== integrity) {
    rmSync(cached, { force: true });
    throw integrityError(`${packageName}@${version} tarball`, integrity, actual);
  }
  return cached;
}

/**
 * Unpacks only the listed entries, checks each one's sha256 and moves it to
 * its destination. Nothing is moved unless every entry matches.
 */
export async function extractVerified(tarball: string, entries: readonly ExtractEntry[], workDir: string): Promise<void> {
  mkdirSync(workDir, { recursive: true });
  const staging = mkdtempSync(join(workDir, 'extract-'));
  try {
    try {
      await execFileAsync('tar', ['-xzf', tarball, '-C', staging, ...entries.map((e) => e.file)]);
    } catch (cause) {
      throw new FacerecError('ASSET_FETCH_FAILED', `cannot unpack ${entries.map((e) => e.file).join(', ')} from ${tarball}`, { cause });
    }
    for (const entry of entries) {
      const actual = sha256File(join(staging, entry.file));
      if (actual !== entry.sha256) throw integrityError(entry.file, `sha256 ${entry.sha256}`, `sha256 ${actual}`);
    }
    for (const entry of entries) {
      mkdirSync(dirname(entry.dest), { recursive: true });
      // Copy then rename, so a reader never sees half a file (staging may sit on another filesystem).
      const temp = `${entry.dest}.${process.pid}.tmp`;
      copyFileSync(join(staging, entry.file), temp);
      renameSync(temp, entry.dest);
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

export function integrityError(what: string, expected: string, actual: string): FacerecError {
  return new FacerecError('ASSET_INTEGRITY', `${what}: expected ${expected}, got ${actual}`, {
    details: { file: what, expected, actual },
  });
}
