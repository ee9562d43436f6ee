/**
 * What a `facerec` command is, and how its command line is read: Node's
 * util.parseArgs, once for every command, so each flag is parsed, checked
 * and described for `--help` the same way.
 *
 * Two kinds of flag reach a command line:
 * - the command's own (`facerec token --scope …`), which it declares as a
 *   util.parseArgs `options` object whose entries also carry a description;
 * - settings (`--models-dir`, `--grpc-port`, …), which every command takes and
 *   loadConfig reads, as it reads the environment (config/schema.ts).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { settingFlagOptions } from '../config/load.js';
import type { Config } from '../config/schema.js';

export interface CommandContext {
  readonly config: Config;
  readonly stdout: (text: string) => void;
  /** Progress and notes for a person watching; absent in library use. */
  readonly stderr?: (text: string) => void;
}

/** Wrong command-line use: printed with the usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** One flag: a util.parseArgs option plus what `--help` says about it. */
export type FlagOption = NonNullable<ParseArgsConfig['options']>[string] & {
  readonly description: string;
  /** Placeholder for the value in usage lines (`<scopes>`); default `value`. */
  readonly valueName?: string;
};

export type FlagOptions = Readonly<Record<string, FlagOption>>;

export interface Command {
  /** The command and its positional arguments, e.g. `facerec compare <a> <b>`; flags are added from ownOptions. */
  readonly usage: string;
  readonly summary: string;
  /** The command's own flags. Every other flag on its command line is a setting for loadConfig. */
  readonly ownOptions?: FlagOptions;
  /**
   * Runs the command. `args` holds its own flags, each written as
   * `--name=value` (or `--name` for a boolean), then its positional
   * arguments; settings flags have already gone to loadConfig. So a command
   * reads `args` with parseCommandArgs(args, ownOptions), and a test can call
   * it with an argv-like list of its own. Resolves to the exit code, or to
   * nothing for 0.
   */
  run(args: readonly string[], ctx: CommandContext): Promise<void | number>;
}

/** What help and usage lines are made of (a script such as `npm run eval` has these too). */
export type CommandDescription = Pick<Command, 'usage' | 'summary' | 'ownOptions'>;

/** A command's own arguments, parsed strictly: an unknown flag or a missing value is a UsageError. */
export function parseCommandArgs<const O extends FlagOptions>(args: readonly string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals });
  } catch (error) {
    // parseArgs names the offending flag; runCli adds the usage line.
    throw new UsageError((error as Error).message);
  }
}

export interface SplitCommandLine {
  /** For Command.run: own flags as `--name=value`, then the positional arguments. */
  readonly commandArgs: string[];
  /** For loadConfig: the settings flags as `--name=value`. */
  readonly settingsArgs: string[];
  /** `--help` or `-h` was given. */
  readonly help: boolean;
}

const HELP_OPTION = { help: { type: 'boolean', short: 'h', description: 'print this help and exit' } } as const satisfies FlagOptions;

/**
 * Reads a command line once against the command's own flags, the settings
 * flags and --help, and hands each part to its reader. An unknown flag or
 * a flag without its value is a UsageError here, before anything runs. A
 * command's own flag wins over a setting of the same name.
 */
export function splitCommandLine(argv: readonly string[], ownOptions: FlagOptions = {}): SplitCommandLine {
  const options = { ...settingFlagOptions(), ...ownOptions, ...HELP_OPTION };
  let tokens;
  try {
    tokens = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true, tokens: true }).tokens;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const own: string[] = [];
  const settingsArgs: string[] = [];
  const positionals: string[] = [];
  let help = false;
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const { name, value } = token as { name: string; value?: string };
    if (name === 'help') help = true;
    else (Object.hasOwn(ownOptions, name) ? own : settingsArgs).push(value === undefined ? `--${name}` : `--${name}=${value}`);
  }
  // A positional that looks like a flag (a file named -x.jpg, after `--`) must stay positional.
  const separator = positionals.some((p) => p.startsWith('-')) ? ['--'] : [];
  return { commandArgs: [...own, ...separator, ...positionals], settingsArgs, help };
}

function flagName(name: string, option: FlagOption): string {
  const short = option.short ? `-${option.short}, ` : '';
  return option.type === 'boolean' ? `${short}--${name}` : `${short}--${name} <${option.valueName ?? 'value'}>`;
}

/** The usage line: the command, its positional arguments and its own flags. */
export function usageOf(command: CommandDescription): string {
  const flags = Object.entries(command.ownOptions ?? {}).map(([name, option]) => `[${flagName(name, option)}]`);
  return [command.usage, ...flags].join(' ');
}

/** One line per flag: its name, value placeholder, description and default. */
export function flagTable(options: FlagOptions): string[] {
  const rows = Object.entries(options).map(([name, option]) => {
    const fallback = option.default === undefined ? '' : ` (default: ${String(option.default)})`;
    return [flagName(name, option), `${option.description}${fallback}`] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

/** What `facerec <command> --help` prints. */
export function commandHelp(command: CommandDescription): string {
  const own = command.ownOptions ?? {};
  return [
    `usage: ${usageOf(command)}`,
    '',
    command.summary,
    '',
    'flags:',
    ...flagTable({ ...own, ...HELP_OPTION }),
    '',
    'settings (any command; the environment sets them too, see the README\'s configuration table):',
    ...flagTable(settingFlagOptions()),
  ].join('\n');
}
