/**
 * The suite's command line (util.parseArgs through parseCommandArgs, each
 * flag described for --help) and the section names --only takes.
 */
import { isAbsolute, resolve } from 'node:path';
import { flagTable, parseCommandArgs, UsageError, type FlagOptions } from '../../src/cli/command.js';

/** Every section, in the order BENCHMARKS.md shows them. */
export const SECTION_NAMES = ['ceiling', 'batching', 'peers', 'latency', 'memory', 'store', 'streams'] as const;
export type SectionName = (typeof SECTION_NAMES)[number];

export const SUITE_OPTIONS = {
  quick: { type: 'boolean', default: false, description: 'a short pass (a few minutes): short runs, small sizes, fewer concurrencies; the figures only show that each part works' },
  only: { type: 'string', valueName: 'section,…', description: `run only these sections: ${SECTION_NAMES.join(', ')}` },
  out: { type: 'string', default: 'BENCHMARKS.md', valueName: 'file', description: 'the markdown report; --quick and --only runs write it too (its header names the flags), so give a scratch file for a trial run' },
  json: { type: 'string', valueName: 'file', description: 'also write every figure, with the header, as JSON' },
  eval: { type: 'string', default: '../shared/eval', valueName: 'dir', description: 'evaluation set for the accuracy columns of the peers section (relative to the repository root); left out with a note when absent' },
  help: { type: 'boolean', short: 'h', default: false, description: 'print this help and exit' },
} as const satisfies FlagOptions;

export const SUITE_USAGE = 'npm run bench -- [--quick] [--only section,…] [--out BENCHMARKS.md] [--json file] [--eval dir]';

export interface SuiteOptions {
  readonly quick: boolean;
  /** The sections to run, in document order. */
  readonly sections: readonly SectionName[];
  readonly outPath: string;
  readonly jsonPath?: string;
  readonly evalDir: string;
  /** The flags as given, for the report's "command" line. */
  readonly argv: readonly string[];
}

export function suiteHelp(): string {
  return [`usage: ${SUITE_USAGE}`, '', 'Runs the benchmarks one after another, each in its own process, and writes BENCHMARKS.md.', '', 'flags:', ...flagTable(SUITE_OPTIONS)].join('\n');
}

/** Undefined when --help was asked for. `root` is the repository root (the --eval default is relative to it). */
export function parseSuiteOptions(argv: readonly string[], root: string): SuiteOptions | undefined {
  const { values } = parseCommandArgs(argv, SUITE_OPTIONS, false);
  if (values.help) return undefined;
  let sections: readonly SectionName[] = SECTION_NAMES;
  if (values.only !== undefined) {
    const asked = values.only.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = asked.filter((s) => !(SECTION_NAMES as readonly string[]).includes(s));
    if (unknown.length > 0 || asked.length === 0) throw new UsageError(`--only takes ${SECTION_NAMES.join(', ')}; not "${unknown.join(',') || values.only}"`);
    sections = SECTION_NAMES.filter((s) => asked.includes(s));
  }
  const fromCwd = (path: string) => resolve(process.cwd(), path);
  const evalDir = values.eval === SUITE_OPTIONS.eval.default || isAbsolute(values.eval) ? resolve(root, values.eval) : fromCwd(values.eval);
  return {
    quick: values.quick,
    sections,
    outPath: fromCwd(values.out),
    ...(values.json === undefined ? {} : { jsonPath: fromCwd(values.json) }),
    evalDir,
    argv: [...argv],
  };
}
