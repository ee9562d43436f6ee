/**
 * The ingest job: reads a source, keeps its shard, and sends the records in
 * BulkIngest calls of a bounded size, a few calls at a time.
 *
 * Why chunks: each call's summary is complete (every failure with its reason)
 * and small, so the job knows every record's outcome as it goes, can
 * checkpoint after each chunk, and can retry a chunk after a server restart
 * without re-sending the whole job. Enrolment is idempotent (face ids derive
 * from subject and image hash), so a chunk sent twice enrols nothing twice.
 *
 * Memory is bounded by `chunkSize × callsInFlight` records; path-based
 * sources read each image only as it is written to the call.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { FacerecError } from '../errors.js';

import type { ClientWritableStream } from '@grpc/grpc-js';

import { FacePolicy, type IngestRequest, type IngestSummary } from '../gen/facerec/v1/facerec.js';
import { isTransient, rpcError, type ServerConnection } from '../cli/server-connection.js';
import { type Checkpoint, type IngestFailure, type OutcomeCounts } from './checkpoint.js';
import type { ProgressView } from './progress.js';
import { inShard, shardLabel, type Shard } from './shard.js';
import type { IngestSource, SourceRecord } from './source.js';

export const DEFAULT_CHUNK_SIZE = 100;
export const DEFAULT_CALLS_IN_FLIGHT = 2;

export interface RetryPolicy {
  /** Tries per chunk, the first included. */
  readonly attempts: number;
  /** Pause before the second try; doubled before each later one. */
  readonly firstDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, firstDelayMs: 1000 };

export interface IngestJobOptions {
  readonly source: IngestSource;
  readonly shard: Shard;
  readonly connection: ServerConnection;
  /** host:port, for messages. */
  readonly server: string;
  /** UNSPECIFIED lets the server's default policy decide. */
  readonly facePolicy: FacePolicy;
  readonly checkpoint: Checkpoint;
  /** Failures recorded before a resume, carried into the report. */
  readonly earlierFailures: readonly IngestFailure[];
  readonly progress: ProgressView;
  readonly chunkSize?: number;
  readonly callsInFlight?: number;
  /** Stop sending once more records than this have failed in this run; absent: never stop for failures. */
  readonly maxFailures?: number | undefined;
  /**
   * Largest image one item may carry: the client's message size limit less room
   * for the payload. A larger photo fails alone (TOO_LARGE) instead of failing its call.
   */
  readonly maxImageBytes?: number;
  readonly retry?: RetryPolicy;
  readonly signal?: AbortSignal;
  /** Notes for the operator (retries), on stderr. */
  readonly note?: (text: string) => void;
}

export type IngestOutcome = 'complete' | 'interrupted' | 'too-many-failures';

export interface IngestReport {
  readonly outcome: IngestOutcome;
  readonly source: string;
  readonly shard: string;
  readonly server: string;
  /** Records of this shard a resume skipped (done by an earlier run). */
  readonly resumedAfter: number;
  readonly counts: OutcomeCounts;
  readonly failuresByCode: Record<string, number>;
  /** Failures the server counted but did not describe (its per-call list was full). */
  readonly failuresOmitted: number;
  readonly failures: readonly IngestFailure[];
  readonly elapsedSeconds: number;
  /** This run's records per second. */
  readonly photosPerSecond: number;
}

interface ChunkResult {
  readonly records: number;
  readonly enrolled: number;
  readonly duplicates: number;
  readonly failures: IngestFailure[];
  /** Failed items the server counted without describing them. */
  readonly omitted: number;
  readonly lastRef: string;
}

export async function runIngestJob(options: IngestJobOptions): Promise<IngestReport> {
  const started = performance.now();
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const callsInFlight = options.callsInFlight ?? DEFAULT_CALLS_IN_FLIGHT;
  const saved = options.checkpoint.current;
  const counts: OutcomeCounts = { ...saved.counts };
  let omitted = saved.failuresOmitted;
  const failures: IngestFailure[] = [...options.earlierFailures];
  const resumedAfter = saved.counts.records;
  const keep = inShard(options.shard);
  // Stops reading the source and cancels the calls in flight (Ctrl-C), without touching the checkpoint.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let outcome: IngestOutcome = 'complete';
  const report = (): IngestReport => {
    const elapsedSeconds = (performance.now() - started) / 1000;
    const failuresByCode: Record<string, number> = {};
    for (const failure of failures) failuresByCode[failure.code] = (failuresByCode[failure.code] ?? 0) + 1;
    if (omitted > 0) failuresByCode['UNDESCRIBED'] = omitted;
    return {
      outcome,
      source: options.source.identity,
      shard: shardLabel(options.shard),
      server: options.server,
      resumedAfter,
      counts,
      failuresByCode,
      failuresOmitted: omitted,
      failures,
      elapsedSeconds: Math.round(elapsedSeconds * 1000) / 1000,
      photosPerSecond: Math.round(((counts.records - resumedAfter) / Math.max(elapsedSeconds, 1e-3)) * 100) / 100,
    };
  };
  // A finished job resumed (a Kubernetes Job's pod restarted after it succeeded) reads nothing again.
  if (saved.complete) return report();

  // Only this run's failures count against the limit: a resume after raising it must get somewhere.
  const tooManyFailures = () => options.maxFailures !== undefined && counts.failed - saved.counts.failed > options.maxFailures;

  const commit = async (result: ChunkResult) => {
    counts.records += result.records;
    counts.enrolled += result.enrolled;
    counts.duplicates += result.duplicates;
    counts.failed += result.failures.length + result.omitted;
    omitted += result.omitted;
    failures.push(...result.failures);
    await options.checkpoint.commit({ counts: { ...counts }, failuresOmitted: omitted, lastRef: result.lastRef, complete: false }, result.failures);
    options.progress.update(counts);
  };

  // Chunks are committed in the order they were read, so "records done" in the
  // checkpoint is always a prefix of the source, whichever call finishes first.
  const pending: Array<Promise<ChunkResult>> = [];
  const settleOldest = async () => commit(await pending.shift()!);
  try {
    options.progress.start(await options.source.count(keep), resumedAfter);
    for await (const chunk of chunksOf(shardRecords(options.source, keep, resumedAfter, saved.lastRef), chunkSize)) {
      if (stop.signal.aborted) break;
      const sending = sendChunkWithRetry(chunk, options, stop.signal);
      // Observed at once: a chunk that fails while an older one is awaited must not become an unhandled rejection.
      sending.catch(() => {});
      pending.push(sending);
      if (pending.length >= callsInFlight) await settleOldest();
      if (tooManyFailures()) break;
    }
    while (pending.length > 0 && !stop.signal.aborted) await settleOldest();
  } catch (error) {
    stop.abort();
    // Ctrl-C ends in a report (what was done, how to resume), not in an error.
    if (!options.signal?.aborted) throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    // Whatever is still in flight was cancelled above; its outcome is not recorded and a resume re-sends it.
    await Promise.allSettled(pending);
    // Also on an error: a progress bar left running keeps the process alive with the cursor hidden.
    options.progress.stop(counts);
  }
  if (options.signal?.aborted) outcome = 'interrupted';
  else if (tooManyFailures()) outcome = 'too-many-failures';
  else await options.checkpoint.commit({ counts: { ...counts }, failuresOmitted: omitted, lastRef: options.checkpoint.current.lastRef, complete: true }, []);
  return report();
}

/**
 * The shard's records, after the first `skip` of them (done by an earlier
 * run). The last skipped record must be the one the checkpoint names: a
 * source that changed order (a folder added before the resume point, a query
 * without ORDER BY) would otherwise skip photos silently.
 */
async function* shardRecords(source: IngestSource, keep: (subjectId: string) => boolean, skip: number, lastRef: string | undefined): AsyncIterable<SourceRecord> {
  let seen = 0;
  for await (const record of source.records()) {
    if (!keep(record.subjectId)) continue;
    seen++;
    if (seen === skip && lastRef !== undefined && record.ref !== lastRef) {
      throw new FacerecError(
        'INVALID_ARGUMENT',
        `the source changed since the checkpoint: record ${skip} was ${lastRef}, now ${record.ref}; run without --resume to start over (photos already enrolled come back as duplicates)`,
      );
    }
    if (seen <= skip) continue;
    yield record;
  }
}

async function* chunksOf<T>(items: AsyncIterable<T>, size: number): AsyncIterable<T[]> {
  let chunk: T[] = [];
  for await (const item of items) {
    chunk.push(item);
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

async function sendChunkWithRetry(chunk: readonly SourceRecord[], options: IngestJobOptions, signal: AbortSignal): Promise<ChunkResult> {
  const retry = options.retry ?? DEFAULT_RETRY;
  for (let attempt = 1; ; attempt++) {
    try {
      return await sendChunk(chunk, options, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      // A restarting or busy server (a rolling update, SERVER_BUSY) is waited out; the chunk is re-sent whole, which is safe.
      if (!isTransient(error) || attempt >= retry.attempts) throw rpcError(error, 'BulkIngest', options.server) as Error;
      const delay = retry.firstDelayMs * 2 ** (attempt - 1);
      options.note?.(`[ingest] BulkIngest failed (${(error as Error).message}); retrying in ${(delay / 1000).toFixed(1)} s (try ${attempt + 1} of ${retry.attempts})`);
      await sleep(delay, undefined, { signal }).catch(() => {});
      if (signal.aborted) throw error;
    }
  }
}

async function sendChunk(chunk: readonly SourceRecord[], options: IngestJobOptions, signal: AbortSignal): Promise<ChunkResult> {
  // Failures found here (a bad row, an unreadable file), by position in the chunk.
  const local: Array<{ at: number; failure: IngestFailure }> = [];
  // Position in the chunk of each record written: a summary's item index points into this list.
  const sentAt: number[] = [];
  const fail = (at: number, code: string, message: string) =>
    local.push({ at, failure: { ref: chunk[at]!.ref, subjectId: chunk[at]!.subjectId, code, message } });
  // Ends the writing when the job stops or the call has already answered (an error needs no more items).
  const writing = new AbortController();
  const stopWriting = () => writing.abort();
  signal.addEventListener('abort', stopWriting, { once: true });

  let call: ClientWritableStream<IngestRequest> | undefined;
  const summary = await new Promise<IngestSummary | undefined>((resolve, reject) => {
    const answered = (error: Error | null, response?: IngestSummary) => {
      writing.abort();
      if (error) reject(error);
      else resolve(response);
    };
    const write = async () => {
      for (let at = 0; at < chunk.length && !writing.signal.aborted; at++) {
        const record = chunk[at]!;
        if (record.problem) {
          fail(at, 'INVALID_RECORD', record.problem);
          continue;
        }
        let image: Uint8Array;
        try {
          image = await record.image();
        } catch (error) {
          fail(at, 'UNREADABLE', (error as Error).message);
          continue;
        }
        if (writing.signal.aborted) break;
        if (options.maxImageBytes !== undefined && image.byteLength > options.maxImageBytes) {
          fail(at, 'TOO_LARGE', `the photo is ${image.byteLength} bytes; one item carries at most ${options.maxImageBytes} (FACEREC_SERVER__MAX_MESSAGE_BYTES)`);
          continue;
        }
        // The call opens with its first item: a chunk of only bad records costs no call at all.
        call ??= options.connection.client.bulkIngest(options.connection.metadata, answered);
        sentAt.push(at);
        const payload = record.payload && Object.keys(record.payload).length > 0 ? record.payload : undefined;
        const bytes = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
        if (!call.write({ subjectId: record.subjectId, image: bytes, payload, facePolicy: options.facePolicy })) await drained(call, writing.signal);
      }
      // Without a call nothing else will settle this promise: settle it here, on a stop as well.
      if (!call) {
        if (signal.aborted) reject(Object.assign(new Error('cancelled'), { name: 'AbortError' }));
        else resolve(undefined);
      } else if (signal.aborted) call.cancel();
      else if (!writing.signal.aborted) call.end();
    };
    write().catch((error: unknown) => {
      call?.cancel();
      reject(error);
    });
  }).finally(() => signal.removeEventListener('abort', stopWriting));

  const failures = local;
  for (const error of summary?.errors ?? []) {
    const at = sentAt[error.index];
    failures.push({
      at: at ?? chunk.length,
      failure: { ref: at === undefined ? `item ${error.index}` : chunk[at]!.ref, subjectId: error.subjectId, code: error.errorCode || error.codeName, message: error.message },
    });
  }
  return {
    records: chunk.length,
    enrolled: summary?.enrolled ?? 0,
    duplicates: summary?.duplicates ?? 0,
    // In source order, so a report reads like the manifest it describes.
    failures: failures.sort((a, b) => a.at - b.at).map((f) => f.failure),
    omitted: summary?.errorsOmitted ?? 0,
    lastRef: chunk[chunk.length - 1]!.ref,
  };
}

/** Waits for the call's send buffer to drain, or for the writing to end. */
function drained(call: ClientWritableStream<IngestRequest>, stopped: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stopped.removeEventListener('abort', done);
      call.off('drain', done);
      resolve();
    };
    call.once('drain', done);
    stopped.addEventListener('abort', done, { once: true });
  });
}
