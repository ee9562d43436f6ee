/**
 * Flags of the bench scripts. Each script gives one table of its flags, with
 * a description for each; `--help` prints that table, and a bad flag ends the
 * run with a one-line message and status 2 rather than a stack trace after
 * the models have loaded.
 */
import { flagTable, parseCommandArgs, UsageError, type FlagOptions } from '../src/cli/command.js';

const HELP_FLAG = { help: { type: 'boolean', short: 'h', description: 'print this help and exit' } } as const satisfies FlagOptions;

export interface BenchCli {
  /** The npm script, as in `npm run <script>`, e.g. `bench:store`. */
  readonly script: string;
  /** What the script measures, one or two sentences for --help. */
  readonly summary: string;
}

/** Ends the process with a usage error: `bench:x: message`, the usage line, status 2. */
function exitWithUsageError(cli: BenchCli, message: string): never {
  console.error(`${cli.script}: ${message}\nusage: npm run ${cli.script} -- [flags]; --help lists them`);
  process.exit(2);
}

type BenchValues<O extends FlagOptions> = ReturnType<typeof parseCommandArgs<O & typeof HELP_FLAG>>['values'];

/**
 * The script's flags parsed strictly from argv; `--help` prints them and
 * exits. `check` may turn the values into what the script uses, throwing a
 * UsageError for a value it refuses.
 */
export function parseBenchArgs<const O extends FlagOptions, T = BenchValues<O>>(
  cli: BenchCli,
  options: O,
  check?: (values: BenchValues<O>) => T,
  argv: readonly string[] = process.argv.slice(2),
): T {
  const all = { ...options, ...HELP_FLAG };
  try {
    const { values } = parseCommandArgs(argv, all, false);
    // Inside this generic function TypeScript cannot see that `help` is among the flags.
    if ((values as { help?: boolean }).help) {
      console.log([`usage: npm run ${cli.script} -- [flags]`, '', cli.summary, '', 'flags:', ...flagTable(all)].join('\n'));
      process.exit(0);
    }
    return check ? check(values) : (values as T);
  } catch (error) {
    if (error instanceof UsageError) exitWithUsageError(cli, error.message);
    throw error;
  }
}

/** A flag's value as a number in [min, max] (an integer when asked), or a UsageError. */
export function numberFlag(name: string, text: string, min: number, max: number, integer = false): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, not "${text}"`);
  }
  return value;
}

/** A comma-separated flag value as numbers, each checked as by numberFlag. */
export function numberListFlag(name: string, text: string, min: number, max: number, integer = false): number[] {
  return text.split(',').map((part) => numberFlag(name, part, min, max, integer));
}
