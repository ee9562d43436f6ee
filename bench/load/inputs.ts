/**
 * What the load is made of, built in memory at start (photos are never
 * committed, and the inputs are the same on every machine):
 * - portrait: 250×250 one-face JPEGs, a square around each face of the test
 *   photos with a margin, the size and framing of a typical ID or gallery
 *   photo; the target's own Detect finds the faces and checks each cut.
 * - group: the 1920 px group photos test/photos/sample1..6.jpg as they are.
 * - noface: images made here with sharp (noise, a flat colour, a gradient),
 *   the request that costs a detector pass and nothing else.
 * Or, with --images, the files of a folder, each sorted into one of those
 * kinds by the faces the target's Detect finds in it, so the per-kind
 * figures still mean what they say.
 * The mix is a weighted round robin, so a run's sequence of inputs is the
 * same every time and the kinds interleave smoothly.
 */
import sharp from 'sharp';
import type { Box } from '../../src/gen/facerec/v1/facerec.js';
import { folderImages, groupPhotos, type BenchImage } from '../pipeline-inputs.js';
import type { LoadTarget } from './target.js';

export const INPUT_KINDS = ['portrait', 'group', 'noface'] as const;
export type InputKind = (typeof INPUT_KINDS)[number];

export const PORTRAIT_SIZE = 250;
/** The square is this many face widths wide, so hair, chin and some background show. */
const PORTRAIT_FACE_WIDTHS = 2.2;

/** A square of about PORTRAIT_FACE_WIDTHS face sizes around `box`, moved to fit inside the image. */
function squareAround(box: Box, width: number, height: number) {
  const side = Math.floor(Math.min(width, height, Math.max(box.x2 - box.x1, box.y2 - box.y1) * PORTRAIT_FACE_WIDTHS));
  const clamp = (centre: number, limit: number) => Math.round(Math.min(limit - side, Math.max(0, centre - side / 2)));
  return { left: clamp((box.x1 + box.x2) / 2, width), top: clamp((box.y1 + box.y2) / 2, height), width: side, height: side };
}

/** Up to `limit` portraits, kept only where the target finds exactly one face in the cut. */
export async function portraits(target: Pick<LoadTarget, 'detect'>, photos: readonly BenchImage[], limit: number): Promise<BenchImage[]> {
  const out: BenchImage[] = [];
  for (const photo of photos) {
    const found = await target.detect(photo.bytes);
    for (const [index, box] of found.boxes.entries()) {
      const bytes = await sharp(photo.bytes).rotate().extract(squareAround(box, found.width, found.height))
        .resize(PORTRAIT_SIZE, PORTRAIT_SIZE).jpeg({ quality: 90 }).toBuffer();
      if ((await target.detect(bytes)).boxes.length === 1) out.push({ name: `${photo.name}#${index}`, bytes });
      if (out.length >= limit) return out;
    }
  }
  return out;
}

/** 640×480 JPEGs with nothing face-like in them; the target checks each. */
export async function noFaceImages(target: LoadTarget): Promise<BenchImage[]> {
  const size = { width: 640, height: 480 };
  const made = [
    { name: 'noise', image: sharp({ create: { ...size, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }) },
    { name: 'flat', image: sharp({ create: { ...size, channels: 3, background: '#3a6ea5' } }) },
    {
      name: 'gradient',
      image: sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${size.width}" height="${size.height}">
        <defs><linearGradient id="g"><stop offset="0" stop-color="#203040"/><stop offset="1" stop-color="#e0c090"/></linearGradient></defs>
        <rect width="100%" height="100%" fill="url(#g)"/></svg>`)),
    },
  ];
  const out: BenchImage[] = [];
  for (const { name, image } of made) {
    const bytes = await image.jpeg({ quality: 90 }).toBuffer();
    if ((await target.detect(bytes)).boxes.length === 0) out.push({ name, bytes });
  }
  return out;
}

export type InputSet = Readonly<Record<InputKind, readonly BenchImage[]>>;

/** Builds only the kinds the mix uses; an empty kind with a weight is an error. */
export async function buildInputs(target: LoadTarget, mix: Readonly<Record<InputKind, number>>, portraitCount: number): Promise<InputSet> {
  const photos = groupPhotos();
  const set: InputSet = {
    portrait: mix.portrait > 0 ? await portraits(target, photos, portraitCount) : [],
    group: mix.group > 0 ? photos : [],
    noface: mix.noface > 0 ? await noFaceImages(target) : [],
  };
  for (const kind of INPUT_KINDS) {
    if (mix[kind] > 0 && set[kind].length === 0) throw new Error(`no ${kind} inputs could be made (is the target's detector working?)`);
  }
  return set;
}

/** Every image file of `dir` (by name), each in the kind its face count gives it. */
export async function folderInputs(target: Pick<LoadTarget, 'detect'>, dir: string): Promise<InputSet> {
  const set: Record<InputKind, BenchImage[]> = { portrait: [], group: [], noface: [] };
  for (const image of folderImages(dir)) {
    const faces = (await target.detect(image.bytes)).boxes.length;
    set[faces === 0 ? 'noface' : faces === 1 ? 'portrait' : 'group'].push(image);
  }
  return set;
}

/** The mix that sends every file of a set equally often: each kind weighted by its count. */
export function evenMix(inputs: InputSet): Record<InputKind, number> {
  return Object.fromEntries(INPUT_KINDS.map((k) => [k, inputs[k].length])) as Record<InputKind, number>;
}

export interface NextInput {
  readonly kind: InputKind;
  readonly image: BenchImage;
}

/**
 * Smooth weighted round robin (as nginx balances upstreams): each kind gains
 * its weight per pick and the leader, which pays back the total, goes next;
 * within a kind the images take turns.
 */
export function mixer(inputs: InputSet, mix: Readonly<Record<InputKind, number>>): () => NextInput {
  const kinds = INPUT_KINDS.filter((k) => mix[k] > 0);
  const total = kinds.reduce((sum, k) => sum + mix[k], 0);
  const credit = new Map(kinds.map((k) => [k, 0]));
  const turn = new Map(kinds.map((k) => [k, 0]));
  return () => {
    let best = kinds[0]!;
    for (const k of kinds) {
      credit.set(k, credit.get(k)! + mix[k]);
      if (credit.get(k)! > credit.get(best)!) best = k;
    }
    credit.set(best, credit.get(best)! - total);
    const i = turn.get(best)!;
    turn.set(best, i + 1);
    return { kind: best, image: inputs[best][i % inputs[best].length]! };
  };
}
