/**
 * The two image sets of bench/pipeline.ts, made in memory (photos are never
 * committed): the 1920 px group photos test/photos/sample1..6.jpg as they
 * are, and 640×480 one-face JPEGs cut around single faces of those photos.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { packageRoot } from '../src/package-root.js';
import type { FacePipeline } from '../src/pipeline/pipeline.js';
import type { FaceBox } from '../src/pipeline/types.js';

export interface BenchImage {
  readonly name: string;
  readonly bytes: Buffer;
}

const SMALL_WIDTH = 640;
const SMALL_HEIGHT = 480;

/** Image files the bench scripts read from a folder (what the peer libraries read too). */
const FOLDER_IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);

/** The .jpg, .jpeg, .png and .webp files directly in `dir`, by name; an Error when there are none. */
export function folderImages(dir: string): BenchImage[] {
  const names = readdirSync(dir).filter((name) => FOLDER_IMAGE_EXTENSIONS.has(extname(name).toLowerCase())).sort();
  if (names.length === 0) throw new Error(`no .jpg, .jpeg, .png or .webp files in ${dir}`);
  return names.map((name) => ({ name, bytes: readFileSync(join(dir, name)) }));
}

export function groupPhotos(): BenchImage[] {
  return [1, 2, 3, 4, 5, 6].map((i) => {
    const name = `sample${i}.jpg`;
    return { name, bytes: readFileSync(join(packageRoot(), 'test', 'photos', name)) };
  });
}

/** A 4:3 window about three face widths wide, centred on the face and kept inside the image. */
function windowAround(box: FaceBox, width: number, height: number) {
  let w = Math.min(width, Math.max(SMALL_WIDTH / 2, (box.x2 - box.x1) * 3));
  let h = (w * SMALL_HEIGHT) / SMALL_WIDTH;
  if (h > height) [h, w] = [height, (height * SMALL_WIDTH) / SMALL_HEIGHT];
  const cx = (box.x1 + box.x2) / 2;
  const cy = (box.y1 + box.y2) / 2;
  const left = Math.round(Math.min(width - w, Math.max(0, cx - w / 2)));
  const top = Math.round(Math.min(height - h, Math.max(0, cy - h / 2)));
  return { left, top, width: Math.floor(w), height: Math.floor(h) };
}

/**
 * Cuts a window around each face of the group photos, resizes it to 640×480,
 * encodes it as JPEG (quality 90) and keeps it when the pipeline finds exactly
 * one face in it.
 */
export async function oneFaceImages(pipeline: FacePipeline, photos: readonly BenchImage[], limit: number): Promise<BenchImage[]> {
  const out: BenchImage[] = [];
  for (const photo of photos) {
    const result = await pipeline.analyze(photo.bytes, { embed: false });
    for (const [index, face] of result.faces.entries()) {
      const region = windowAround(face.box, result.width, result.height);
      const bytes = await sharp(photo.bytes)
        .rotate()
        .extract(region)
        .resize(SMALL_WIDTH, SMALL_HEIGHT, { fit: 'fill' })
        .jpeg({ quality: 90 })
        .toBuffer();
      const check = await pipeline.analyze(bytes, { embed: false });
      if (check.faces.length === 1) out.push({ name: `${photo.name}#${index}`, bytes });
      if (out.length >= limit) return out;
    }
  }
  return out;
}
