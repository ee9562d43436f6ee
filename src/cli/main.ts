/**
 * The `facerec` command line. Each command is a row in COMMANDS (name,
 * usage, run), so `serve` and `token` slot in beside the face commands.
 * Configuration comes from loadConfig: environment first, then the flags
 * after the command's positional arguments (e.g. `--models-dir`).
 */
import { realpathSync } from 'node:fs';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.js';
import { isFacerecError } from '../errors.js';
import { UsageError, compareCommand, detectCommand, embedCommand, type CommandContext } from './face-commands.js';
import { ingestCommand } from './ingest.js';
import { jwksCommand } from './jwks.js';
import { serveCommand } from './serve.js';
import { tokenCommand } from './token.js';
import { watchCommand } from './watch.js';

export interface Command {
  readonly usage: string;
  readonly summary: string;
  /** Flags the command reads itself (taken out before loadConfig sees the rest). */
  readonly ownFlags?: readonly string[];
  run(args: readonly string[], ctx: CommandContext): Promise<void>;
}

export const COMMANDS: Record<string, Command> = {
  detect: { usage: 'facerec detect <image>', summary: 'faces with boxes, scores and 5 landmarks, as JSON', run: detectCommand },
  embed: { usage: 'facerec embed <image>', summary: 'the same plus each face’s 512-d embedding', run: embedCommand },
  compare: { usage: 'facerec compare <a> <b>', summary: 'cosine similarity of the largest face in each, and the verdict', run: compareCommand },
  serve: { usage: 'facerec serve [--grpc-port N] [--data-dir DIR] ...', summary: 'run the gRPC server (+ REST gateway and /metrics); npm start', run: serveCommand },
  ingest: {
    usage: 'facerec ingest <folder> [--server host:port] [--token JWT] [--face-policy dominant|reject|largest]',
    summary: 'enrol <folder>/<subject id>/<images> through BulkIngest on a running server',
    ownFlags: ['--server', '--token', '--face-policy'],
    run: ingestCommand,
  },
  token: {
    usage: 'facerec token [--scope faces:read,faces:write] [--expires 30d] [--subject NAME] [--issuer ISS] [--audience AUD]',
    summary: 'mint a bearer token signed with AUTH_SECRET_KEY (iss/aud default to AUTH_ISSUER/AUTH_AUDIENCE)',
    ownFlags: ['--scope', '--expires', '--subject', '--issuer', '--audience'],
    run: tokenCommand,
  },
  watch: {
    usage: 'facerec watch <file|rtsp://…|http(s)://…|/dev/videoN> [--server host:port] [--token JWT] [--fps 5] [--width 640] [--camera ID] [--policy latest|process-all] [--save-crops DIR]',
    summary: 'send a camera or video through RecognizeStream; one line per track event (JSON lines when piped)',
    ownFlags: ['--server', '--token', '--fps', '--width', '--camera', '--policy', '--save-crops'],
    run: watchCommand,
  },
  jwks: { usage: 'facerec jwks', summary: 'print AUTH_SECRET_KEY as the JWKS for Envoy’s jwt_authn', run: jwksCommand },
  help: { usage: 'facerec help', summary: 'this text', run: async (_args, ctx) => ctx.stdout(helpText()) },
};

export function helpText(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length));
  return [
    'usage: facerec <command> [arguments] [--flag value ...]',
    '',
    ...Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    '',
    'Settings come from the environment (FACEREC_PIPELINE__*, see the README) or flags such as',
    '--models-dir <dir> and --similarity-threshold <cosine>.',
  ].join('\n');
}

/** Splits argv into positional arguments and `--flag value` pairs for loadConfig. */
export function splitArgs(argv: readonly string[]): { positional: string[]; flags: string[] } {
  const positional: string[] = [];
  const flags: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) positional.push(arg);
    else {
      flags.push(arg);
      if (!arg.includes('=') && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) flags.push(argv[++i]!);
    }
  }
  return { positional, flags };
}

/** Separates a command's own `--flag value` pairs from the config flags. */
function takeOwnFlags(flags: readonly string[], names: readonly string[]): { own: string[]; others: string[] } {
  const own: string[] = [];
  const others: string[] = [];
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i]!;
    const target = names.includes(flag.split('=')[0]!) ? own : others;
    target.push(flag);
    if (!flag.includes('=') && flags[i + 1] !== undefined && !flags[i + 1]!.startsWith('--')) target.push(flags[++i]!);
  }
  return { own, others };
}

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(`${text}\n`),
  stderr: (text) => void process.stderr.write(`${text}\n`),
};

/** Runs one command line; returns the exit code instead of exiting, so tests can call it. */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    io.stdout(helpText());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`facerec: unknown command "${name}"\n${helpText()}`);
    return 2;
  }
  try {
    const { positional, flags } = splitArgs(rest);
    const { own, others } = takeOwnFlags(flags, command.ownFlags ?? []);
    const config = loadConfig({ env: process.env, argv: others });
    await command.run([...positional, ...own], { config, stdout: io.stdout, stderr: io.stderr });
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`facerec: ${error.message}\nusage: ${command.usage}`);
      return 2;
    }
    if (isFacerecError(error)) {
      io.stderr(`facerec: ${error.code}: ${error.message}`);
      return 1;
    }
    io.stderr(`facerec: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 1;
  }
}

/** True when this process was started as the CLI (tsx src/cli/main.ts, node dist/…/main.js, bin/facerec.js or its npm symlink), not imported by a test. */
function startedAsCli(): boolean {
  if (!process.argv[1]) return false;
  let entry: string;
  try {
    entry = realpathSync(process.argv[1]);
  } catch {
    return false;
  }
  return entry === fileURLToPath(import.meta.url) || entry.endsWith(`${sep}bin${sep}facerec.js`);
}

if (startedAsCli()) process.exitCode = await runCli(process.argv.slice(2));
