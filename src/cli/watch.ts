/**
 * `facerec watch <source>`: a camera (RTSP / HTTP(S) / MJPEG URL, a V4L2
 * device such as /dev/video0) or a video file through RecognizeStream on a
 * running server, printing one line per track event: JSON lines when stdout
 * is a pipe, readable lines on a terminal.
 *
 * Live sources are sent with FRAME_POLICY_LATEST (the server drops frames it
 * cannot keep up with, and so does this client), files with
 * FRAME_POLICY_PROCESS_ALL (every frame, HTTP/2 flow control paces the
 * reading). When the server ends the stream (a rolling update, a scale-down)
 * the client reconnects with back-off: tracks start afresh, the camera keeps
 * going. A source that cannot be opened is an error and a non-zero exit.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import { FramePolicy, TrackEventType, type Frame, type FrameResult, type TrackEvent } from '../gen/facerec/v1/facerec.js';
import type { FaceBox } from '../pipeline/types.js';
import { cropJpeg } from '../server/review.js';
import { parseCommandArgs, UsageError, type CommandContext, type FlagOptions } from './command.js';
import { connectToServer, isTransient, rpcError, serverConnectionOptions, serverConnectionSettings } from './server-connection.js';
import { findFfmpeg, newestOnly, sourceKind, videoFrames } from './video-source.js';

export const watchOptions = {
  ...serverConnectionOptions,
  fps: { type: 'string', valueName: 'N', description: 'frames per second taken from the source (default: 5)' },
  width: { type: 'string', valueName: 'px', description: 'frames are scaled to this width (default: 640)' },
  camera: { type: 'string', valueName: 'ID', description: "the stream's camera id (default: the source's file name)" },
  policy: { type: 'string', valueName: 'latest|process-all', description: 'latest drops frames the server cannot keep up with (default for live sources); process-all sends every frame (default for files)' },
  'save-crops': { type: 'string', valueName: 'dir', description: 'save the best crop of each identified track here' },
} as const satisfies FlagOptions;

const RECONNECT_FIRST_MS = 1000;
const RECONNECT_MAX_MS = 30_000;
const CROP_SIZE_PX = 256;
/** Room for a frame of any --width as JPEG, with the other Frame fields. */
const MAX_SEND_BYTES = 16 * 1024 * 1024;

interface WatchSettings {
  readonly source: string;
  readonly fps: number;
  readonly width: number;
  readonly cameraId: string;
  readonly policy: FramePolicy;
  readonly saveCrops: string | undefined;
}

function positiveNumber(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`--${name} must be a positive number, got ${raw}`);
  return value;
}

function settingsFrom(args: readonly string[]): { watch: WatchSettings; values: { server?: string; token?: string } } {
  const { values, positionals } = parseCommandArgs(args, watchOptions);
  if (positionals.length !== 1) throw new UsageError('give exactly one source: a video file, a URL or a device');
  const source = positionals[0]!;
  const policies: Record<string, FramePolicy> = { latest: FramePolicy.FRAME_POLICY_LATEST, 'process-all': FramePolicy.FRAME_POLICY_PROCESS_ALL };
  if (values.policy !== undefined && !(values.policy in policies)) throw new UsageError(`--policy must be latest or process-all, got ${values.policy}`);
  const policy = values.policy ? policies[values.policy]! : sourceKind(source) === 'file' ? FramePolicy.FRAME_POLICY_PROCESS_ALL : FramePolicy.FRAME_POLICY_LATEST;
  return {
    watch: {
      source,
      fps: positiveNumber('fps', values.fps, 5),
      width: Math.round(positiveNumber('width', values.width, 640)),
      cameraId: values.camera ?? basename(source),
      policy,
      saveCrops: values['save-crops'],
    },
    values: { ...(values.server !== undefined ? { server: values.server } : {}), ...(values.token !== undefined ? { token: values.token } : {}) },
  };
}

/** What one event line says. */
function eventRecord(cameraId: string, result: FrameResult, event: TrackEvent) {
  const type = TrackEventType[event.type].replace('TRACK_EVENT_TYPE_', 'TRACK_');
  const identity = event.identity;
  return {
    type,
    camera: cameraId,
    sequence: result.sequence,
    time: (result.timestamp ?? new Date()).toISOString(),
    track: event.trackId,
    ...(event.box ? { box: [event.box.x1, event.box.y1, event.box.x2, event.box.y2].map(Math.round) } : {}),
    ...(identity ? { subject: identity.subjectId, similarity: Number(identity.similarity.toFixed(3)), payload: identity.payload ?? {} } : {}),
    ...(type === 'TRACK_ENDED'
      ? { frames: event.framesSeen, first_seen: event.firstSeen?.toISOString(), last_seen: event.lastSeen?.toISOString(), ...(event.reviewId ? { review_id: event.reviewId } : {}) }
      : {}),
  };
}

function readable(record: ReturnType<typeof eventRecord>): string {
  const who = record.subject ? `${record.subject}${typeof record.payload?.['name'] === 'string' ? ` (${record.payload['name']})` : ''} ${record.similarity}` : 'unknown';
  const what = record.type === 'TRACK_STARTED' ? 'appeared' : record.type === 'TRACK_IDENTIFIED' ? `is ${who}` : `left after ${record.frames} frames: ${who}${record.review_id ? `, kept for review as ${record.review_id}` : ''}`;
  return `${record.time.slice(11, 19)} ${record.camera} track ${record.track} ${what}`;
}

/** The best face each track showed (largest × most confident embedded face), to cut out when it ends identified. */
class CropKeeper {
  readonly #best = new Map<number, { quality: number; frame: Buffer; box: FaceBox }>();
  constructor(private readonly dir: string) {}

  see(result: FrameResult, frame: Buffer | undefined): void {
    if (!frame) return;
    for (const face of result.faces) {
      if (!face.trackId || !face.embedded || !face.box) continue;
      const quality = (face.box.x2 - face.box.x1) * (face.box.y2 - face.box.y1) * face.score;
      const best = this.#best.get(face.trackId);
      if (!best || quality > best.quality) this.#best.set(face.trackId, { quality, frame, box: face.box });
    }
  }

  async ended(cameraId: string, event: TrackEvent): Promise<string | undefined> {
    const best = this.#best.get(event.trackId);
    this.#best.delete(event.trackId);
    if (!best || !event.identity) return undefined;
    await mkdir(this.dir, { recursive: true });
    const file = join(this.dir, `${cameraId}-${event.identity.subjectId}-track${event.trackId}.jpg`.replace(/[^\w.@-]+/g, '_'));
    await writeFile(file, await cropJpeg(best.frame, best.box, CROP_SIZE_PX));
    return file;
  }

  reset(): void {
    this.#best.clear();
  }
}

export async function watchCommand(args: readonly string[], ctx: CommandContext): Promise<void> {
  const { watch, values } = settingsFrom(args);
  const connection = serverConnectionSettings(values);
  const ffmpeg = findFfmpeg();
  const note = (text: string) => ctx.stderr?.(`facerec watch: ${text}`);
  // A person at a terminal reads sentences; a pipe gets JSON lines.
  const pretty = process.stdout.isTTY === true;
  const print = (record: ReturnType<typeof eventRecord>) => ctx.stdout(pretty ? readable(record) : JSON.stringify(record));
  const live = watch.policy === FramePolicy.FRAME_POLICY_LATEST;
  const decoded = videoFrames({ ffmpeg, source: watch.source, fps: watch.fps, width: watch.width, note });
  const frames = (live ? newestOnly(decoded) : decoded)[Symbol.asyncIterator]();
  const crops = watch.saveCrops ? new CropKeeper(watch.saveCrops) : undefined;
  let sequence = 0;
  let retryMs = RECONNECT_FIRST_MS;
  for (;;) {
    const server = connectToServer(connection, MAX_SEND_BYTES);
    try {
      await streamOnce(server.client.recognizeStream(server.metadata), frames, { watch, live, print, crops, nextSequence: () => sequence++, connected: () => (retryMs = RECONNECT_FIRST_MS) });
      return;
    } catch (error) {
      if (!isTransient(error)) throw rpcError(error, 'RecognizeStream', connection.server);
      crops?.reset();
      note(`the server ended the stream (${(error as ServiceError).details || (error as Error).message}); reconnecting in ${retryMs / 1000} s`);
      await sleep(retryMs);
      retryMs = Math.min(retryMs * 2, RECONNECT_MAX_MS);
    } finally {
      server.close();
    }
  }
}

interface StreamContext {
  readonly watch: WatchSettings;
  readonly live: boolean;
  readonly print: (record: ReturnType<typeof eventRecord>) => void;
  readonly crops: CropKeeper | undefined;
  nextSequence(): number;
  connected(): void;
}

/**
 * One RecognizeStream: sends frames until the source ends, then half-closes
 * and waits for the final result. Rejects with the call's error (the caller
 * reconnects on a transient one) or the source's.
 */
async function streamOnce(call: ClientDuplexStream<Frame, FrameResult>, frames: AsyncIterator<Buffer>, ctx: StreamContext): Promise<void> {
  const sent = new Map<number, Buffer>();
  const outcome = new Promise<void>((resolve, reject) => {
    call.on('error', reject);
    call.on('end', resolve);
  });
  // The writer below stops at the first failure instead of waiting on the source.
  const stopped = outcome.then(() => 'ended' as const, () => 'failed' as const);
  let chain = Promise.resolve();
  call.on('data', (result: FrameResult) => {
    ctx.connected();
    const frame = sent.get(result.sequence);
    sent.delete(result.sequence);
    ctx.crops?.see(result, frame);
    // Events in order, crops written before the next result's events are printed.
    chain = chain.then(async () => {
      for (const event of result.events) {
        const record = eventRecord(ctx.watch.cameraId, result, event);
        if (event.type === TrackEventType.TRACK_EVENT_TYPE_ENDED && ctx.crops) {
          const file = await ctx.crops.ended(ctx.watch.cameraId, event).catch(() => undefined);
          ctx.print(file ? { ...record, crop: file } as typeof record : record);
        } else ctx.print(record);
      }
    });
  });
  // A live source never waits for the server: while the connection's buffer is full, frames are dropped here.
  let blocked = false;
  call.on('drain', () => (blocked = false));
  try {
    for (;;) {
      const next = await Promise.race([frames.next(), stopped]);
      if (next === 'ended' || next === 'failed') break;
      if (next.done) {
        call.end();
        break;
      }
      if (ctx.live && blocked) continue;
      const sequence = ctx.nextSequence();
      if (ctx.crops) sent.set(sequence, next.value);
      const frame: Frame = { image: next.value, cameraId: ctx.watch.cameraId, sequence, topK: 1, matchFaces: false, policy: ctx.watch.policy, timestamp: new Date() };
      if (!call.write(frame)) {
        blocked = true;
        if (ctx.live) continue;
        const drained = await Promise.race([new Promise((resolve) => call.once('drain', resolve)).then(() => 'drained' as const), stopped]);
        if (drained !== 'drained') break;
      }
    }
  } catch (error) {
    // The source failed: end the call and report the source.
    call.cancel();
    outcome.catch(() => {});
    throw error;
  }
  await outcome;
  await chain;
}
