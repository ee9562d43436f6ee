/**
 * The `facerec` command line. Each command is a row in COMMANDS (command.ts
 * says what a row holds), so `serve` and `token` slot in beside the face
 * commands.
 *
 * runCli reads the whole command line once with util.parseArgs
 * (splitCommandLine): the command's own flags, declared in its
 * `ownOptions`, go to the command; every other flag is a setting and goes to
 * loadConfig, which reads it over the environment (e.g. `--models-dir`).
 * A command gets its own flags as `--name=value`, then its positional
 * arguments, and parses them itself with parseCommandArgs. `--help` on any
 * command prints its usage and flags and exits 0.
 */
import { realpathSync } from 'node:fs';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.js';
import { isFacerecError } from '../errors.js';
import { commandHelp, splitCommandLine, usageOf, UsageError, type Command, type FlagOptions } from './command.js';
import { compareCommand, detectCommand, embedCommand } from './face-commands.js';
import { ingestCommand, ingestOptions } from './ingest.js';
import { jwksCommand } from './jwks.js';
import { serveCommand } from './serve.js';
import { ownOptions as tokenOptions, tokenCommand } from './token.js';
import { watchCommand, watchOptions } from './watch.js';

export type { Command } from './command.js';

export const COMMANDS: Record<string, Command> = {
  detect: { usage: 'facerec detect <image>', summary: 'faces with boxes, scores and 5 landmarks, as JSON', run: detectCommand },
  embed: { usage: 'facerec embed <image>', summary: 'the same plus each face’s 512-d embedding', run: embedCommand },
  compare: { usage: 'facerec compare <a> <b>', summary: 'cosine similarity of the largest face in each, and the verdict', run: compareCommand },
  serve: { usage: 'facerec serve', summary: 'run the gRPC server (+ REST gateway and /metrics); npm start; its flags are the settings', run: serveCommand },
  ingest: {
    usage: 'facerec ingest <source> | --query SQL',
    summary: 'enrol a folder, CSV/JSONL manifest, Parquet dataset or PostgreSQL query on a running server: chunked, resumable, shardable',
    ownOptions: ingestOptions,
    run: ingestCommand,
  },
  token: {
    usage: 'facerec token',
    summary: 'mint a bearer token signed with AUTH_SECRET_KEY (iss/aud default to AUTH_ISSUER/AUTH_AUDIENCE)',
    ownOptions: tokenOptions,
    run: tokenCommand,
  },
  watch: {
    usage: 'facerec watch <file|rtsp://…|http(s)://…|/dev/videoN>',
    summary: 'send a camera or video through RecognizeStream; one line per track event (JSON lines when piped)',
    ownOptions: watchOptions,
    run: watchCommand,
  },
  jwks: { usage: 'facerec jwks', summary: 'print AUTH_SECRET_KEY as the JWKS for Envoy’s jwt_authn', run: jwksCommand },
  // runCli answers help itself, before loading settings; run is here for callers of COMMANDS.
  help: { usage: 'facerec help [command]', summary: 'this text, or a command’s usage and flags', run: async (args, ctx) => ctx.stdout(helpFor(args[0])) },
};

export function helpText(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length));
  return [
    'usage: facerec <command> [arguments] [--flag value ...]',
    '',
    ...Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    '',
    '`facerec <command> --help` lists a command\'s flags. Settings come from the environment',
    '(FACEREC_PIPELINE__*, see the README) or flags such as --models-dir <dir> and',
    '--similarity-threshold <cosine>.',
  ].join('\n');
}

function helpFor(name: string | undefined): string {
  const command = name === undefined ? undefined : COMMANDS[name];
  if (name !== undefined && !command) throw new UsageError(`unknown command "${name}"`);
  return command ? commandHelp(command) : helpText();
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
    const { commandArgs, settingsArgs, help } = splitCommandLine(rest, command.ownOptions);
    if (help) {
      io.stdout(commandHelp(command));
      return 0;
    }
    // Help needs no settings: it works even while the environment holds a bad one.
    if (command === COMMANDS['help']) {
      io.stdout(helpFor(commandArgs[0]));
      return 0;
    }
    const config = loadConfig({ env: process.env, argv: settingsArgs });
    const code = await command.run(commandArgs, { config, stdout: io.stdout, stderr: io.stderr });
    return code ?? 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`facerec: ${error.message}\nusage: ${usageOf(command)}\n(facerec ${name} --help lists the flags)`);
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
