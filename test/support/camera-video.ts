/**
 * A short scripted "camera" made from the test photos: faces of three
 * different people (cut from one group photo, so they are surely three
 * people) pasted onto a plain background, moving a little each frame. Tests
 * send the frames as JPEGs or, through ffmpeg, as a video file.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { cropFace, photo } from './images.js';

export type Person = 'a' | 'b' | 'c';

/** Boxes of three faces in sample1.jpg (from `facerec detect`). */
const FACES: Record<Person, { x1: number; y1: number; x2: number; y2: number }> = {
  a: { x1: 416, y1: 358, x2: 601, y2: 593 },
  b: { x1: 829, y1: 429, x2: 1031, y2: 650 },
  c: { x1: 1460, y1: 218, x2: 1681, y2: 431 },
};

export const FRAME_WIDTH = 640;
export const FRAME_HEIGHT = 360;
const FACE_HEIGHT = 220;

/** A head-and-shoulders crop of one person, FACE_HEIGHT px tall (also the enrolment photo). */
export async function personPhoto(person: Person): Promise<Buffer> {
  const crop = await cropFace(photo(1), FACES[person], 0.4);
  return sharp(crop).resize({ height: FACE_HEIGHT }).jpeg({ quality: 92 }).toBuffer();
}

/** Who is in view on each frame; each person keeps a side of the picture and drifts 2 px a frame. */
export type Script = ReadonlyArray<readonly Person[]>;

/** A alone, A and B, B alone, nobody: `per` frames each. */
export function doorScript(per = 8): Script {
  return [...Array<Person[]>(per).fill(['a']), ...Array<Person[]>(per).fill(['a', 'b']), ...Array<Person[]>(per).fill(['b']), ...Array<Person[]>(per - 2).fill([])];
}

export async function renderFrames(script: Script): Promise<Buffer[]> {
  const photos = new Map<Person, Buffer>();
  for (const person of new Set(script.flat())) photos.set(person, await personPhoto(person));
  const slot: Record<Person, number> = { a: 40, b: 360, c: 200 };
  return Promise.all(
    script.map(async (people, i) => {
      const layers = await Promise.all(
        people.map(async (person) => ({ input: photos.get(person)!, left: slot[person] + 2 * i, top: 60 })),
      );
      return sharp({ create: { width: FRAME_WIDTH, height: FRAME_HEIGHT, channels: 3, background: { r: 90, g: 100, b: 110 } } })
        .composite(layers)
        .jpeg({ quality: 90 })
        .toBuffer();
    }),
  );
}

/** The ffmpeg the tests use: FFMPEG_PATH, else the optional @ffmpeg-installer/ffmpeg binary. */
export function testFfmpeg(): string {
  if (process.env['FFMPEG_PATH']) return process.env['FFMPEG_PATH'];
  const require = createRequire(import.meta.url);
  return (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
}

/** Encodes the frames as an MJPEG AVI at `fps`; returns its path and a cleanup. */
export async function writeVideo(frames: readonly Buffer[], fps: number): Promise<{ path: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'facerec-video-'));
  await Promise.all(frames.map((frame, i) => writeFile(join(dir, `f${String(i).padStart(4, '0')}.jpg`), frame)));
  const path = join(dir, 'door.avi');
  await promisify(execFile)(testFfmpeg(), ['-hide_banner', '-loglevel', 'error', '-framerate', String(fps), '-i', join(dir, 'f%04d.jpg'), '-c:v', 'mjpeg', '-q:v', '2', path]);
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}
