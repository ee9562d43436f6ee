/**
 * The face pipeline on real photos with the built models (models/build,
 * prepared by `npm ci`) and the face-api.js sample photos in test/photos
 * (fetched at install). Face counts were made by looking at each photo.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { CONFIG_SCHEMA } from '../src/config/schema.js';
import { isFacerecError, type ErrorCode } from '../src/errors.js';
import {
  closePipelineSessions,
  cosineSimilarity,
  createFacePipeline,
  directRunners,
  openPipelineSessions,
  type DetectedFace,
  type FacePipeline,
  type PipelineResult,
  type PipelineSessions,
} from '../src/pipeline/index.js';
import { pngDeclaring } from './support/images.js';

const PHOTOS = join(import.meta.dirname, 'photos');
/** Counted by eye. */
const FACE_COUNTS: Record<string, number> = {
  'sample1.jpg': 3,
  'sample2.jpg': 3,
  'sample3.jpg': 3,
  'sample4.jpg': 4,
  'sample5.jpg': 5,
  'sample6.jpg': 4,
};
const SAME_FACE_MIN_SIMILARITY = 0.6;
const settings = {
  maxImagePixels: CONFIG_SCHEMA.pipeline.maxImagePixels.default,
  detectScoreThreshold: CONFIG_SCHEMA.pipeline.detectScoreThreshold.default,
  nmsIouThreshold: CONFIG_SCHEMA.pipeline.nmsIouThreshold.default,
  minFaceSizePx: CONFIG_SCHEMA.pipeline.minFaceSizePx.default,
};
const defaultThreshold = CONFIG_SCHEMA.pipeline.similarityThreshold.default;

let sessions: PipelineSessions;
let pipeline: FacePipeline;
const originals = new Map<string, { bytes: Buffer; result: PipelineResult }>();

before(async () => {
  sessions = await openPipelineSessions({ intraOpThreads: 1 });
  pipeline = createFacePipeline({ runners: directRunners(sessions, sessions.imageOps), settings });
  for (const file of Object.keys(FACE_COUNTS)) {
    const bytes = readFileSync(join(PHOTOS, file));
    originals.set(file, { bytes, result: await pipeline.analyze(bytes) });
  }
});

after(async () => {
  await closePipelineSessions(sessions);
});

const centre = (f: DetectedFace) => ({ x: (f.box.x1 + f.box.x2) / 2, y: (f.box.y1 + f.box.y2) / 2 });

/** The face in `faces` whose centre is nearest `at`, if within a quarter of the face width. */
function faceNear(faces: readonly DetectedFace[], at: { x: number; y: number }, faceWidth: number): DetectedFace | undefined {
  const near = faces.filter((f) => Math.hypot(centre(f).x - at.x, centre(f).y - at.y) < faceWidth / 4);
  return near.sort((a, b) => Math.hypot(centre(a).x - at.x, centre(a).y - at.y) - Math.hypot(centre(b).x - at.x, centre(b).y - at.y))[0];
}

describe('face pipeline on the sample photos', () => {
  it('finds the number of faces counted by eye, each with 5 landmarks inside its box and an embedding', () => {
    for (const [file, expected] of Object.entries(FACE_COUNTS)) {
      const { result } = originals.get(file)!;
      assert.equal(result.faces.length, expected, `${file}: ${result.faces.length} faces`);
      for (const face of result.faces) {
        assert.equal(face.landmarks.length, 5);
        const w = face.box.x2 - face.box.x1;
        for (const p of face.landmarks) assert.ok(p.x > face.box.x1 - w / 4 && p.x < face.box.x2 + w / 4, `${file}: landmark outside its face`);
        assert.ok(face.landmarks[0]!.x < face.landmarks[1]!.x, `${file}: left eye left of right eye`);
        assert.equal(face.embedding?.length, 512);
        const norm = Math.sqrt(face.embedding!.reduce((s, v) => s + v * v, 0));
        assert.ok(Math.abs(norm - 1) < 1e-5);
      }
    }
  });

  it('keeps different people in one photo below the default threshold', () => {
    for (const [file, { result }] of originals) {
      const faces = result.faces;
      for (let i = 0; i < faces.length; i++) {
        for (let j = i + 1; j < faces.length; j++) {
          const s = cosineSimilarity(faces[i]!.embedding!, faces[j]!.embedding!);
          assert.ok(s < defaultThreshold, `${file}: faces ${i} and ${j} have similarity ${s.toFixed(3)} ≥ ${defaultThreshold}`);
        }
      }
    }
  });

  const variants: Array<{ name: string; make: (img: sharp.Sharp, w: number, h: number) => sharp.Sharp; map: (p: { x: number; y: number }, w: number, h: number) => { x: number; y: number }; scale: number }> = [
    { name: 're-encoded at JPEG quality 70', make: (img) => img.jpeg({ quality: 70 }), map: (p) => p, scale: 1 },
    { name: 'resized to half', make: (img, w) => img.resize(Math.round(w / 2)).jpeg({ quality: 95 }), map: (p) => ({ x: p.x / 2, y: p.y / 2 }), scale: 0.5 },
    { name: 'mirrored', make: (img) => img.flop().jpeg({ quality: 95 }), map: (p, w) => ({ x: w - p.x, y: p.y }), scale: 1 },
    // Stored rotated 90° anticlockwise with orientation 6 ("rotate 90° clockwise to display"):
    // decoding must give back the upright photo, with boxes in upright pixels.
    { name: 'stored with EXIF orientation 6', make: (img) => img.rotate(270).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }), map: (p) => p, scale: 1 },
  ];

  for (const variant of variants) {
    it(`matches every face to itself when ${variant.name}`, async () => {
      for (const [file, { bytes, result }] of originals) {
        const copy = await variant.make(sharp(bytes), result.width, result.height).toBuffer();
        const other = await pipeline.analyze(copy);
        assert.equal(other.faces.length, result.faces.length, `${file}: face count changed`);
        for (const face of result.faces) {
          const w = face.box.x2 - face.box.x1;
          const twin = faceNear(other.faces, variant.map(centre(face), result.width, result.height), w * variant.scale);
          assert.ok(twin, `${file}: face at ${centre(face).x.toFixed(0)},${centre(face).y.toFixed(0)} not found where expected`);
          const s = cosineSimilarity(face.embedding!, twin.embedding!);
          assert.ok(s >= SAME_FACE_MIN_SIMILARITY, `${file}: same face similarity ${s.toFixed(3)}`);
        }
      }
    });
  }

  it('reports the EXIF-rotated copy in upright pixels', async () => {
    const { bytes, result } = originals.get('sample1.jpg')!;
    const rotated = await sharp(bytes).rotate(270).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer();
    const stored = await sharp(rotated).metadata();
    assert.deepEqual([stored.width, stored.height, stored.orientation], [result.height, result.width, 6]);
    const other = await pipeline.analyze(rotated);
    assert.deepEqual([other.width, other.height], [result.width, result.height]);
    for (const face of result.faces) {
      const twin = faceNear(other.faces, centre(face), face.box.x2 - face.box.x1)!;
      for (const key of ['x1', 'y1', 'x2', 'y2'] as const) assert.ok(Math.abs(twin.box[key] - face.box[key]) < 12, `${key}: ${twin.box[key]} vs ${face.box[key]}`);
    }
  });

  it('reports faces below minFaceSizePx without an embedding', async () => {
    const small = createFacePipeline({ runners: directRunners(sessions, sessions.imageOps), settings: { ...settings, minFaceSizePx: 10_000 } });
    const { bytes } = originals.get('sample1.jpg')!;
    const result = await small.analyze(bytes).catch((e: unknown) => e);
    // A photo smaller than the minimum face size cannot hold a face at all.
    assert.ok(isFacerecError(result, 'IMAGE_TOO_SMALL'));
    const image = await sharp(bytes).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const direct = await small.analyzeImage({ data: image.data, width: image.info.width, height: image.info.height });
    assert.equal(direct.faces.length, 3);
    assert.ok(direct.faces.every((f) => f.embedding === undefined && f.landmarks.length === 5));
  });

  it('returns no faces, not an error, for a photo without a face', async () => {
    const blank = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#6688aa' } }).jpeg().toBuffer();
    const result = await pipeline.analyze(blank);
    assert.deepEqual(result.faces, []);
    assert.deepEqual([result.width, result.height], [320, 240]);
  });
});

describe('flip-averaged embeddings on the sample photos', () => {
  const twins = new Map<string, ReturnType<typeof findMirroredTwins>>();
  const mirroredTwins = (file: string) => twins.get(file) ?? twins.set(file, findMirroredTwins(file)).get(file)!;

  /** Each face of the photo with its twin in the mirrored copy, plain and flip-averaged. */
  async function findMirroredTwins(file: string) {
    const { bytes, result } = originals.get(file)!;
    const mirrored = await sharp(bytes).flop().jpeg({ quality: 95 }).toBuffer();
    const [plainMirrored, averaged, averagedMirrored] = await Promise.all([
      pipeline.analyze(mirrored),
      pipeline.analyze(bytes, { flipAverage: true }),
      pipeline.analyze(mirrored, { flipAverage: true }),
    ]);
    return result.faces.map((face, i) => {
      const w = face.box.x2 - face.box.x1;
      const at = { x: result.width - centre(face).x, y: centre(face).y };
      return {
        face,
        averaged: averaged.faces[i]!,
        twin: faceNear(plainMirrored.faces, at, w)!,
        averagedTwin: faceNear(averagedMirrored.faces, at, w)!,
      };
    });
  }

  it('stays close to the plain embedding, so a flip-averaged gallery still matches plain probes', async () => {
    for (const file of Object.keys(FACE_COUNTS)) {
      for (const { face, averaged } of await mirroredTwins(file)) {
        const s = cosineSimilarity(face.embedding!, averaged.embedding!);
        assert.ok(s >= 0.97, `${file}: plain vs flip-averaged ${s.toFixed(3)}`);
      }
    }
  });

  it('brings a face and its mirror image closer together than plain embeddings do', async () => {
    // A mirrored photo's crop is (up to landmark noise) the mirror image of the original's,
    // so averaging the two orientations should make the embeddings of the photo and its copy nearly agree.
    const plainGaps: number[] = [];
    const averagedGaps: number[] = [];
    for (const file of Object.keys(FACE_COUNTS)) {
      for (const { face, averaged, twin, averagedTwin } of await mirroredTwins(file)) {
        const plain = cosineSimilarity(face.embedding!, twin.embedding!);
        const flip = cosineSimilarity(averaged.embedding!, averagedTwin.embedding!);
        assert.ok(flip >= plain, `${file}: mirrored copy, flip-averaged ${flip.toFixed(3)} < plain ${plain.toFixed(3)}`);
        plainGaps.push(1 - plain);
        averagedGaps.push(1 - flip);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    assert.ok(median(averagedGaps) <= 0.02, `median 1 − cosine flip-averaged ${median(averagedGaps).toFixed(4)}`);
    assert.ok(median(averagedGaps) <= median(plainGaps) / 2, `median 1 − cosine: flip-averaged ${median(averagedGaps).toFixed(4)}, plain ${median(plainGaps).toFixed(4)}`);
  });
});

describe('face pipeline on bad input', () => {
  const cases: Array<[string, () => Promise<Buffer>, ErrorCode, RegExp]> = [
    ['an empty file', async () => Buffer.alloc(0), 'IMAGE_EMPTY', /0 bytes/],
    ['random bytes', async () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)), 'IMAGE_UNSUPPORTED', /not an image/],
    ['a truncated JPEG', async () => readFileSync(join(PHOTOS, 'sample1.jpg')).subarray(0, 40_000), 'IMAGE_TRUNCATED', /truncated|premature/],
    ['a PNG declaring 0×10', async () => pngDeclaring(0, 10), 'IMAGE_ZERO_SIZE', /width/],
    ['a PNG declaring 30000×30000', async () => pngDeclaring(30_000, 30_000), 'IMAGE_TOO_LARGE', new RegExp(`30000×30000 = 900000000 pixels, limit ${settings.maxImagePixels}`)],
    ['a 1×1 image', async () => sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } }).png().toBuffer(), 'IMAGE_TOO_SMALL', /1×1/],
  ];
  for (const [name, make, code, message] of cases) {
    it(`rejects ${name} with ${code}`, async () => {
      const bytes = await make();
      // The 30000×30000 "bomb" holds one byte of pixel data, so decoding it would
      // fail as IMAGE_TRUNCATED: IMAGE_TOO_LARGE shows it was refused from its
      // header alone, before any pixel was decoded.
      await assert.rejects(pipeline.analyze(bytes), (error: unknown) => {
        assert.ok(isFacerecError(error, code), `got ${String(error)}`);
        assert.match(error.message, message);
        assert.equal(error.status, 'INVALID_ARGUMENT');
        return true;
      });
    });
  }
});
