/**
 * `facerec ingest <folder> [--server host:port] [--token JWT] [--face-policy dominant|reject|largest]`:
 * enrols `<folder>/<subject id>/<image>` through one BulkIngest stream to a
 * running server, printing progress on stderr and the IngestSummary as JSON.
 *
 * Files are read one at a time as the stream drains, so a folder of any size
 * needs memory for a few images only; HTTP/2 flow control keeps the client
 * from running far ahead of the server, so "sent" tracks what was processed.
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';

import { credentials, Metadata, status } from '@grpc/grpc-js';

import { FacerecError } from '../errors.js';
import { FaceRecognitionClient, FacePolicy, type IngestSummary } from '../gen/facerec/v1/facerec.js';
import { facePolicyNamed } from '../server/ingest.js';
import { UsageError, type CommandContext } from './face-commands.js';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif']);
const PROGRESS_EVERY_MS = 2000;
const FACE_POLICIES = new Set(['dominant', 'reject', 'largest']);
/** Items per BulkIngest call: well under the server's per-call limit, and a summary small enough to stream progress from. */
const ITEMS_PER_CALL = 256;

export interface IngestItem {
  readonly subjectId: string;
  readonly path: string;
}

/** `<folder>/<subject>/<image>` in name order; other files and deeper folders are ignored. */
export async function listIngestItems(folder: string): Promise<IngestItem[]> {
  let subjects;
  try {
    subjects = (await readdir(folder, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch (error) {
    throw new FacerecError('INVALID_ARGUMENT', `cannot read folder ${folder}: ${(error as Error).message}`);
  }
  const items: IngestItem[] = [];
  for (const subjectId of subjects) {
    const files = (await readdir(join(folder, subjectId), { withFileTypes: true }))
      .filter((f) => f.isFile() && IMAGE_EXTENSIONS.has(extname(f.name).toLowerCase()))
      .map((f) => f.name)
      .sort();
    for (const file of files) items.push({ subjectId, path: join(folder, subjectId, file) });
  }
  return items;
}

interface IngestOptions {
  folder: string;
  server: string;
  token: string | undefined;
  facePolicy: FacePolicy;
}

function parseArgs(args: readonly string[], defaultServer: string): IngestOptions {
  let folder: string | undefined;
  const options: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const match = /^--(server|token|face-policy)(?:=(.*))?$/.exec(arg);
    if (match) {
      const value = match[2] ?? args[++i];
      if (value === undefined) throw new UsageError(`--${match[1]} needs a value`);
      options[match[1]!] = value;
    } else if (arg.startsWith('--')) throw new UsageError(`unexpected flag ${arg}`);
    else if (folder === undefined) folder = arg;
    else throw new UsageError(`unexpected argument ${arg}`);
  }
  if (folder === undefined) throw new UsageError('missing <folder>');
  const policy = options['face-policy'];
  if (policy !== undefined && !FACE_POLICIES.has(policy)) throw new UsageError(`--face-policy must be dominant, reject or largest, not ${policy}`);
  return {
    folder,
    server: options['server'] ?? defaultServer,
    token: options['token'],
    // Unset: the server's default policy decides.
    facePolicy: policy === undefined ? FacePolicy.FACE_POLICY_UNSPECIFIED : facePolicyNamed(policy),
  };
}

export async function ingestCommand(args: readonly string[], ctx: CommandContext): Promise<void> {
  const options = parseArgs(args, `localhost:${ctx.config.server.grpcPort}`);
  const items = await listIngestItems(options.folder);
  if (items.length === 0) throw new FacerecError('INVALID_ARGUMENT', `no images under ${options.folder}/<subject>/ (extensions: ${[...IMAGE_EXTENSIONS].join(' ')})`);
  const progress = ctx.stderr ?? (() => {});
  const maxBytes = ctx.config.server.maxMessageBytes;
  // The summary of a call can list up to 100 item errors: never let the default 4 MB receive limit drop it.
  const client = new FaceRecognitionClient(options.server, credentials.createInsecure(), { 'grpc.max_send_message_length': maxBytes, 'grpc.max_receive_message_length': -1 });
  const metadata = new Metadata();
  if (options.token) metadata.set('authorization', `Bearer ${options.token}`);

  const started = Date.now();
  let sent = 0;
  const report = () => {
    const seconds = (Date.now() - started) / 1000;
    progress(`[ingest] ${sent}/${items.length} images sent (${(sent / Math.max(seconds, 1e-3)).toFixed(1)} images/s)`);
  };
  let lastReport = Date.now();
  const sendChunk = (chunk: readonly IngestItem[]) =>
    new Promise<IngestSummary>((resolve, reject) => {
      const call = client.bulkIngest(metadata, (error, response) => (error ? reject(error) : resolve(response)));
      void (async () => {
        for (const item of chunk) {
          // An unreadable file still goes as an item (empty image), so the summary's
          // item index and counts line up with the listing.
          const image = await readFile(item.path).catch(() => Buffer.alloc(0));
          const ready = call.write({ subjectId: item.subjectId, image, payload: undefined, facePolicy: options.facePolicy });
          sent++;
          if (!ready) await new Promise((r) => call.once('drain', r));
          if (Date.now() - lastReport >= PROGRESS_EVERY_MS) {
            report();
            lastReport = Date.now();
          }
        }
        call.end();
      })().catch((error: unknown) => {
        call.cancel();
        reject(error);
      });
    });
  try {
    // Calls of a bounded size: each summary is small and complete, and the server's
    // per-call item limit is never reached, however large the folder.
    const summary: IngestSummary = { received: 0, enrolled: 0, duplicates: 0, failed: 0, errors: [], elapsedMs: 0, errorsOmitted: 0 };
    for (let first = 0; first < items.length; first += ITEMS_PER_CALL) {
      const part = await sendChunk(items.slice(first, first + ITEMS_PER_CALL));
      summary.received += part.received;
      summary.enrolled += part.enrolled;
      summary.duplicates += part.duplicates;
      summary.failed += part.failed;
      summary.errorsOmitted += part.errorsOmitted;
      summary.errors.push(...part.errors.map((e) => ({ ...e, index: e.index + first })));
    }
    summary.elapsedMs = Date.now() - started;
    report();
    const errors = summary.errors.map((e) => ({ ...e, file: items[e.index]?.path }));
    ctx.stdout(JSON.stringify({ ...summary, errors }, null, 2));
    progress(`[ingest] done: ${summary.enrolled} enrolled, ${summary.duplicates} duplicates, ${summary.failed} failed`);
  } catch (error) {
    const { code, details } = error as { code?: number; details?: string };
    if (code === status.UNAUTHENTICATED) throw new FacerecError('UNAUTHENTICATED', `${details ?? ''} (pass --token)`, { cause: error });
    if (code === status.PERMISSION_DENIED) throw new FacerecError('PERMISSION_DENIED', `${details ?? ''} (the token needs faces:write)`, { cause: error });
    if (typeof code === 'number') throw new FacerecError('RPC_FAILED', `BulkIngest to ${options.server}: ${status[code]}: ${details ?? ''}`, { cause: error });
    throw error;
  } finally {
    client.close();
  }
}
