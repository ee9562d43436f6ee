/**
 * Frames from a video file, a network camera (RTSP, HTTP(S), MJPEG) or a
 * V4L2 device, decoded by ffmpeg at a chosen rate and width and handed over
 * as JPEGs. ffmpeg is found on FFMPEG_PATH or PATH first; otherwise the
 * optional `@ffmpeg-installer/ffmpeg` package's static binary is used, so the
 * CLI works on a machine with nothing installed. The server never needs it.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FacerecError } from '../errors.js';
import { jpegFrames } from './jpeg-frames.js';

export type SourceKind = 'file' | 'network' | 'device';

export function sourceKind(source: string): SourceKind {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return 'network';
  if (source.startsWith('/dev/')) return 'device';
  return 'file';
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** FFMPEG_PATH, an ffmpeg on PATH, or the optional package's binary; FFMPEG_NOT_FOUND when none. */
export function findFfmpeg(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env['FFMPEG_PATH'];
  if (configured) {
    if (!executable(configured)) throw new FacerecError('FFMPEG_NOT_FOUND', `FFMPEG_PATH=${configured} is not an executable file`);
    return configured;
  }
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir && executable(join(dir, 'ffmpeg'))) return join(dir, 'ffmpeg');
  }
  try {
    const { path } = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string };
    if (executable(path)) return path;
  } catch {
    // Not installed (it is an optional dependency): say what to do below.
  }
  throw new FacerecError('FFMPEG_NOT_FOUND', 'install ffmpeg, set FFMPEG_PATH, or install the optional package @ffmpeg-installer/ffmpeg');
}

export interface VideoSourceOptions {
  readonly ffmpeg: string;
  readonly source: string;
  readonly fps: number;
  readonly width: number;
  /** Progress notes for a person (reconnects); absent: silent. */
  readonly note?: (text: string) => void;
  readonly signal?: AbortSignal;
}

export function ffmpegArgs(source: string, fps: number, width: number): string[] {
  const kind = sourceKind(source);
  return [
    '-hide_banner', '-loglevel', 'error', '-nostdin',
    ...(kind === 'device' ? ['-f', 'v4l2'] : []),
    // RTSP over TCP: UDP loses packets (and frames) on busy networks.
    ...(/^rtsps?:/i.test(source) ? ['-rtsp_transport', 'tcp'] : []),
    '-i', source,
    '-an', '-vf', `fps=${fps},scale=${width}:-2`,
    '-f', 'image2pipe', '-c:v', 'mjpeg', '-q:v', '4', 'pipe:1',
  ];
}

/** One ffmpeg run: its frames; throws SOURCE_UNAVAILABLE when it fails before the end of the input. */
async function* ffmpegRun(options: VideoSourceOptions): AsyncGenerator<Buffer> {
  const child = spawn(options.ffmpeg, ffmpegArgs(options.source, options.fps, options.width), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-2000)));
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (error) => {
      stderr += String(error);
      resolve(-1);
    });
    child.once('close', (code) => resolve(code));
  });
  try {
    yield* jpegFrames(child.stdout);
    const code = await exited;
    if (code !== 0) throw new FacerecError('SOURCE_UNAVAILABLE', `${options.source}: ${stderr.trim().split('\n').at(-1) || `ffmpeg exited with code ${code}`}`);
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
  }
}

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

/**
 * The source's frames. A file ends when it ends. A camera or device that
 * drops after it delivered frames is opened again with back-off; one that
 * cannot be opened at all throws SOURCE_UNAVAILABLE at once.
 */
export async function* videoFrames(options: VideoSourceOptions): AsyncGenerator<Buffer> {
  const live = sourceKind(options.source) !== 'file';
  if (!live) {
    try {
      if (!statSync(options.source).isFile()) throw new Error('not a file');
    } catch {
      throw new FacerecError('SOURCE_UNAVAILABLE', `${options.source}: no such video file`);
    }
  }
  let delivered = false;
  let retryMs = RETRY_FIRST_MS;
  for (;;) {
    try {
      for await (const frame of ffmpegRun(options)) {
        delivered = true;
        retryMs = RETRY_FIRST_MS;
        yield frame;
      }
      if (!live) return;
      options.note?.(`${options.source} ended; opening it again in ${retryMs / 1000} s`);
    } catch (error) {
      if (!live || !delivered) throw error;
      options.note?.(`${(error as Error).message}; opening it again in ${retryMs / 1000} s`);
    }
    await sleep(retryMs, undefined, options.signal ? { signal: options.signal } : {});
    retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
  }
}

/**
 * Always reads the source, keeping only the newest frame for the consumer:
 * a live camera must not back up behind a slow server (the server drops
 * frames too, with FRAME_POLICY_LATEST; this keeps ffmpeg from stalling).
 */
export function newestOnly(frames: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  let newest: Buffer | undefined;
  let done = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const pump = (async () => {
    try {
      for await (const frame of frames) {
        newest = frame;
        wake?.();
      }
    } catch (error) {
      failure = error;
    } finally {
      done = true;
      wake?.();
    }
  })();
  void pump;
  return {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (newest) {
          const frame = newest;
          newest = undefined;
          yield frame;
        } else if (done) {
          if (failure) throw failure;
          return;
        } else await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}
