/**
 * What a section of the suite is, what it gets to work with, and what it
 * hands back for BENCHMARKS.md and the JSON report.
 */
import { join } from 'node:path';
import { runChild } from './child.js';
import type { SectionName } from './options.js';

/** A markdown table; cells are already formatted, so each section chooses its precision. */
export interface Table {
  readonly caption?: string;
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export interface SectionResult {
  /** The commands that reproduce the section alone. */
  readonly commands: readonly string[];
  readonly tables: readonly Table[];
  /** Sentences under the tables: how to read them, what was left out and why. */
  readonly notes?: readonly string[];
  /** The figures as measured, for the JSON report. */
  readonly data?: unknown;
  /** Set when the section could not run here (not a failure): why, and what to do. */
  readonly skipped?: string;
}

export interface SuiteContext {
  readonly root: string;
  readonly quick: boolean;
  /** A scratch folder for this run, removed at the end. */
  readonly tmpDir: string;
  readonly evalDir: string;
  progress(line: string): void;
  /** Runs a TypeScript script of the repository (`node --import tsx`) in the repository root; resolves with its stdout. */
  tsx(label: string, script: string, args: readonly string[], options?: { timeoutS?: number; env?: Record<string, string> }): Promise<string>;
  /** Runs `node <args>` in the repository root; resolves with its stdout. */
  node(label: string, args: readonly string[], options?: { timeoutS?: number }): Promise<string>;
  /** Whatever several sections need (images, a gallery, a build), made once per run. */
  once<T>(key: string, make: () => Promise<T>): Promise<T>;
}

export interface Section {
  readonly name: SectionName;
  readonly title: string;
  /** One sentence: what the section measures. */
  readonly summary: string;
  run(ctx: SuiteContext): Promise<SectionResult>;
}

/** Ten minutes: no single benchmark of the full pass takes half of that on 2 cores. */
const DEFAULT_CHILD_TIMEOUT_S = 600;

export function createContext(options: { root: string; quick: boolean; tmpDir: string; evalDir: string; progress: (line: string) => void }): SuiteContext {
  const made = new Map<string, Promise<unknown>>();
  const run = (label: string, argv: readonly string[], timeoutS = DEFAULT_CHILD_TIMEOUT_S, env?: Record<string, string>) => {
    options.progress(`${label}…`);
    return runChild(argv, { label, timeoutS, cwd: options.root, progress: options.progress, ...(env ? { env } : {}) }).then((r) => r.stdout);
  };
  return {
    ...options,
    tsx: (label, script, args, o = {}) => run(label, [process.execPath, '--import', 'tsx', join(options.root, script), ...args], o.timeoutS, o.env),
    node: (label, args, o = {}) => run(label, [process.execPath, ...args], o.timeoutS),
    once<T>(key: string, make: () => Promise<T>): Promise<T> {
      if (!made.has(key)) made.set(key, make());
      return made.get(key) as Promise<T>;
    },
  };
}

/** The last line of `stdout` that parses as a JSON object, for benchmarks that print progress before it. */
export function lastJsonLine<T>(stdout: string): T {
  const line = stdout.trim().split('\n').reverse().find((l) => l.trim().startsWith('{'));
  if (!line) throw new Error(`no JSON in the output: ${stdout.slice(-300)}`);
  return JSON.parse(line) as T;
}

/** Fixed decimals, or a dash for a missing figure. */
export function fixed(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

export function percent(share: number | null | undefined, digits = 1): string {
  return share === null || share === undefined || !Number.isFinite(share) ? '–' : `${(100 * share).toFixed(digits)} %`;
}

/** "1 pass", "5 passes". */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
