/**
 * `facerec ingest <source> [options]`: enrols a photo set into a running
 * server through BulkIngest, as a resumable, shardable job with progress and
 * a report. The sources, the job and its checkpoint live in src/ingest; this
 * file turns the command line into them.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';

import { connectivityState } from '@grpc/grpc-js';

import { FacerecError } from '../errors.js';
import { FacePolicy } from '../gen/facerec/v1/facerec.js';
import { Checkpoint } from '../ingest/checkpoint.js';
import { DEFAULT_CHUNK_SIZE, runIngestJob, type IngestReport } from '../ingest/job.js';
import { createProgressView } from '../ingest/progress.js';
import { parseShard, shardLabel, WHOLE_SOURCE, type Shard } from '../ingest/shard.js';
import { DEFAULT_COLUMNS, type IngestSource } from '../ingest/source.js';
import { openFolderSource } from '../ingest/sources/folder.js';
import { openManifestSource } from '../ingest/sources/manifest.js';
import { openParquetSource } from '../ingest/sources/parquet.js';
import { openPostgresSource } from '../ingest/sources/postgres.js';
import { facePolicyNamed } from '../server/ingest.js';
import { parseCommandArgs, UsageError, type CommandContext, type FlagOptions } from './command.js';
import { connectToServer, serverConnectionOptions, serverConnectionSettings, type ServerConnection } from './server-connection.js';

const FORMATS = ['folder', 'csv', 'jsonl', 'parquet', 'postgres'] as const;
type SourceFormat = (typeof FORMATS)[number];
const FACE_POLICIES = ['dominant', 'reject', 'largest'];
/**
 * A bound on the memory two chunks in flight may hold. The server describes at
 * most 100 failed items per call, so chunks above 100 can leave some failures
 * counted but undescribed in the report.
 */
const MAX_CHUNK_SIZE = 1000;
/** Room left in a message for the subject id and payload beside the image. */
const ITEM_OVERHEAD_BYTES = 64 * 1024;

export const ingestOptions = {
  ...serverConnectionOptions,
  'face-policy': { type: 'string', valueName: 'dominant|reject|largest', description: "which face of a photo is enrolled (default: the server's FACEREC_ENROLMENT__DEFAULT_FACE_POLICY)" },
  format: { type: 'string', valueName: 'folder|csv|jsonl|parquet', description: 'the kind of source (default: from its name; a folder holding .parquet files is Parquet)' },
  'path-column': { type: 'string', valueName: 'name', description: 'column or field with the image path, relative to the manifest (default: path)' },
  'subject-column': { type: 'string', valueName: 'name', description: 'column or field with the subject id (default: subject_id; Parquet: its ClassLabel column)' },
  'image-column': { type: 'string', valueName: 'name', description: 'column with the image bytes (default: image; Parquet: its Image column)' },
  query: { type: 'string', valueName: 'SQL', description: 'read a PostgreSQL query instead of a path; give it a stable ORDER BY (connection: PG* variables or --pg-url-env)' },
  'pg-url-env': { type: 'string', valueName: 'NAME', description: 'environment variable holding a postgres:// URL, so no password appears in ps' },
  shard: { type: 'string', valueName: 'i/N', description: 'only the subjects hashing to i of N (0 ≤ i < N), for N parallel workers' },
  checkpoint: { type: 'string', valueName: 'path', description: 'progress file (default: ./facerec-ingest-<job hash>.checkpoint.json)' },
  resume: { type: 'boolean', description: 'continue after the last finished chunk of the checkpoint' },
  report: { type: 'string', valueName: 'path', description: 'write the full report (every failure with its reason) as JSON' },
  'max-failures': { type: 'string', valueName: 'N', description: 'stop and exit 1 once more than N photos failed in this run (default: no limit)' },
  'chunk-size': { type: 'string', valueName: 'N', description: `photos per BulkIngest call, at most ${MAX_CHUNK_SIZE} (default: ${DEFAULT_CHUNK_SIZE})` },
} as const satisfies FlagOptions;

function positiveInteger(flag: string, text: string | undefined, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > max) throw new UsageError(`${flag} takes a whole number from 0 to ${max}, not "${text}"`);
  return value;
}

async function containsParquet(folder: string): Promise<boolean> {
  const entries = await readdir(folder, { recursive: true });
  return entries.some((name) => String(name).endsWith('.parquet'));
}

/** The source's format from its name: a flag is only needed when the name does not tell. */
async function detectFormat(path: string): Promise<SourceFormat> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new FacerecError('INVALID_ARGUMENT', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (info.isDirectory()) return (await containsParquet(path)) ? 'parquet' : 'folder';
  const extension = extname(path).toLowerCase();
  if (extension === '.csv') return 'csv';
  if (extension === '.jsonl' || extension === '.ndjson') return 'jsonl';
  if (extension === '.parquet') return 'parquet';
  throw new UsageError(`cannot tell the format of ${path} from its name; pass --format ${FORMATS.join('|')}`);
}

type IngestValues = ReturnType<typeof parseCommandArgs<typeof ingestOptions>>['values'];

async function openSource(positionals: readonly string[], values: IngestValues): Promise<IngestSource> {
  const columns = {
    path: values['path-column'] ?? DEFAULT_COLUMNS.path,
    subject: values['subject-column'] ?? DEFAULT_COLUMNS.subject,
    image: values['image-column'] ?? DEFAULT_COLUMNS.image,
  };
  if (values.query !== undefined) {
    if (positionals.length > 0) throw new UsageError('--query reads PostgreSQL: give no source path with it');
    return openPostgresSource({ query: values.query, urlEnv: values['pg-url-env'], columns });
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing <source> (or --query)' : `one source at a time, not ${positionals.join(' ')}`);
  const path = positionals[0]!;
  const format = (values.format as SourceFormat | undefined) ?? (await detectFormat(path));
  if (!FORMATS.includes(format)) throw new UsageError(`--format takes ${FORMATS.join(', ')}, not "${format}"`);
  switch (format) {
    case 'folder':
      return openFolderSource(path);
    case 'csv':
    case 'jsonl':
      return openManifestSource(path, format, columns);
    case 'parquet':
      // Parquet datasets name their columns in metadata: only columns named on the command line override it.
      return openParquetSource(path, { subject: values['subject-column'], image: values['image-column'] });
    case 'postgres':
      throw new UsageError('--format postgres needs --query');
  }
}

/**
 * Fails fast when the server cannot be reached at all, instead of retrying
 * every chunk: a wrong --server should say so in a second. Once the job runs,
 * a server that goes away for a while (a rolling update) is waited out.
 */
function reachable(connection: ServerConnection, server: string, timeoutMs = 10_000): Promise<void> {
  const channel = connection.client.getChannel();
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const check = () => {
      const state = channel.getConnectivityState(true);
      if (state === connectivityState.READY) return resolve();
      if (state === connectivityState.TRANSIENT_FAILURE || state === connectivityState.SHUTDOWN || Date.now() >= deadline) {
        return reject(new FacerecError('RPC_FAILED', `BulkIngest to ${server}: UNAVAILABLE: cannot connect (is the server running? --server / FACEREC_SERVER)`));
      }
      channel.watchConnectivityState(state, deadline, check);
    };
    check();
  });
}

function defaultCheckpointPath(job: string): string {
  return resolve(`facerec-ingest-${createHash('sha256').update(job).digest('hex').slice(0, 12)}.checkpoint.json`);
}

export async function ingestCommand(args: readonly string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, ingestOptions);
  const policy = values['face-policy'];
  if (policy !== undefined && !FACE_POLICIES.includes(policy)) throw new UsageError(`--face-policy must be dominant, reject or largest, not ${policy}`);
  const shard: Shard = values.shard === undefined ? WHOLE_SOURCE : parseShard(values.shard);
  const maxFailures = positiveInteger('--max-failures', values['max-failures']);
  const chunkSize = positiveInteger('--chunk-size', values['chunk-size'], MAX_CHUNK_SIZE);
  if (chunkSize === 0) throw new UsageError('--chunk-size must be at least 1');
  const settings = serverConnectionSettings(values);
  const note = ctx.stderr ?? (() => {});

  const source = await openSource(positionals, values);
  const job = `${source.identity} shard ${shardLabel(shard)}`;
  const checkpointPath = resolve(values.checkpoint ?? defaultCheckpointPath(job));
  const { checkpoint, failures, resumed } = await Checkpoint.open(checkpointPath, job, values.resume ?? false);
  if (resumed && checkpoint.current.complete) {
    note(`[ingest] ${checkpointPath} says this job is complete (${checkpoint.current.counts.records} photos); nothing to do`);
  }

  const connection = connectToServer(settings, ctx.config.server.maxMessageBytes);
  const interrupt = new AbortController();
  const onSignal = () => {
    note('[ingest] stopping: the calls in flight are cancelled; run again with --resume to continue');
    interrupt.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let report: IngestReport;
  try {
    await reachable(connection, settings.server);
    report = await runIngestJob({
      source,
      shard,
      connection,
      server: settings.server,
      // Unset: the server's default policy decides.
      facePolicy: policy === undefined ? FacePolicy.FACE_POLICY_UNSPECIFIED : facePolicyNamed(policy),
      checkpoint,
      earlierFailures: failures,
      progress: createProgressView({ stream: process.stderr.isTTY && ctx.stderr ? process.stderr : { write: (text: string) => note(text.trimEnd()) } }),
      chunkSize,
      maxFailures,
      maxImageBytes: ctx.config.server.maxMessageBytes - ITEM_OVERHEAD_BYTES,
      signal: interrupt.signal,
      note,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    connection.close();
    await source.close();
  }

  const full = { ...report, checkpoint: checkpointPath };
  if (values.report !== undefined) {
    await mkdir(dirname(resolve(values.report)), { recursive: true });
    await writeFile(values.report, `${JSON.stringify(full, null, 2)}\n`);
  }
  // With --report the terminal gets the counts; the full list of failures is in the file.
  const { failures: listed, ...counts } = full;
  ctx.stdout(JSON.stringify(values.report === undefined ? full : { ...counts, report: resolve(values.report) }, null, 2));
  note(`[ingest] ${report.outcome}: ${report.counts.enrolled} enrolled, ${report.counts.duplicates} already there, ${report.counts.failed} failed (${listed.length} listed)`);
  if (report.outcome === 'too-many-failures') {
    note(
      `[ingest] more than ${maxFailures} photos failed in this run: stopped early. The report lists why; --resume with a higher --max-failures continues after the last finished chunk (rows fixed before that point need a run without --resume)`,
    );
    return 1;
  }
  // 130: the shell's code for a job ended by Ctrl-C, so scripts can tell it from a failure.
  return report.outcome === 'interrupted' ? 130 : 0;
}
