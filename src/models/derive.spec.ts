/**
 * The derived models against the originals, on the real models and photos
 * that `npm run models` put in place. The originals get their float NCHW
 * input from a plain JS loop; the derived models get the uint8 NHWC bytes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { packageRoot } from '../package-root.js';
import { deriveModel, RECIPES } from './derive.js';
import { loadSourceManifest, resolveModelPaths, type ModelName } from './manifest.js';
import { prepareLayout } from './prepare.js';

const PHOTOS = [1, 2, 3, 4, 5, 6].map((i) => join(packageRoot(), 'test', 'photos', `sample${i}.jpg`));
// Measured max abs diff is 0 on x86-64 (the same floats reach the same kernels);
// the bounds leave room for other CPUs, where ORT may pick other kernels for the fused graph.
const DETECTOR_TOLERANCE = 1e-5;
const LANDMARK_TOLERANCE = 1e-5;
const EMBEDDING_TOLERANCE = 1e-4;

type Session = ort.InferenceSession;
interface Sessions {
  original: Record<ModelName, Session>;
  derived: Record<'detector' | 'landmarks' | 'embedder', Session>;
}
let s: Sessions;
/** One face crop per photo: 64×64 grey and 112×112 RGB. */
let faces: { grey: Uint8Array; rgb: Uint8Array }[];

const open = (path: string | Uint8Array) => ort.InferenceSession.create(path as string, { intraOpNumThreads: 1, interOpNumThreads: 1 });

before(async () => {
  const originalDir = prepareLayout().originalDir;
  const sources = loadSourceManifest().models.files;
  const original = (name: ModelName) => open(join(originalDir, sources[name].file.split('/').pop()!));
  const paths = resolveModelPaths();
  s = {
    original: { detector: await original('detector'), landmarks: await original('landmarks'), embedder: await original('embedder') },
    derived: { detector: await open(paths.detector), landmarks: await open(paths.landmarks), embedder: await open(paths.embedder) },
  };
  faces = [];
  for (const photo of PHOTOS) faces.push(await faceCrops(photo));
});

async function detectorImage(photo: string): Promise<Uint8Array> {
  return sharp(photo).resize(320, 240, { fit: 'fill' }).removeAlpha().raw().toBuffer();
}

/** Crops the derived detector's best box, so the landmark and embedder inputs hold a real face. */
async function faceCrops(photo: string): Promise<{ grey: Uint8Array; rgb: Uint8Array }> {
  const out = await runDerived('detector', await detectorImage(photo), 1);
  const scores = out.scores!.data as Float32Array;
  const boxes = out.boxes!.data as Float32Array;
  let best = 0;
  for (let i = 1; i < scores.length / 2; i++) if (scores[i * 2 + 1]! > scores[best * 2 + 1]!) best = i;
  const { width = 0, height = 0 } = await sharp(photo).metadata();
  const [x1, y1, x2, y2] = Array.from(boxes.subarray(best * 4, best * 4 + 4));
  const left = Math.max(0, Math.floor(x1! * width));
  const top = Math.max(0, Math.floor(y1! * height));
  const region = { left, top, width: Math.min(width - left, Math.ceil((x2! - x1!) * width)), height: Math.min(height - top, Math.ceil((y2! - y1!) * height)) };
  const grey = await sharp(photo).extract(region).resize(64, 64, { fit: 'fill' }).greyscale().toColourspace('b-w').raw().toBuffer();
  const rgb = await sharp(photo).extract(region).resize(112, 112, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  assert.equal(grey.length, 64 * 64);
  return { grey, rgb };
}

/** The originals' preprocessing: float NCHW of (x − mean) · scale. */
function nchw(items: readonly Uint8Array[], h: number, w: number, c: number, mean: number, scale: number): ort.Tensor {
  const out = new Float32Array(items.length * c * h * w);
  items.forEach((hwc, n) => {
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) out[((n * c + ch) * h + y) * w + x] = (hwc[(y * w + x) * c + ch]! - mean) * scale;
  });
  return new ort.Tensor('float32', out, [items.length, c, h, w]);
}

async function runOriginal(name: keyof Sessions['original'], item: Uint8Array): Promise<Float32Array[]> {
  const r = RECIPES[name];
  const [h, w, c] = r.imageDims;
  const session = s.original[name];
  const out = await session.run({ input: nchw([item], h, w, c, r.mean ?? 0, r.scale) });
  return session.outputNames.map((k) => out[k]!.data as Float32Array);
}

async function runDerived(name: keyof Sessions['derived'], data: Uint8Array, n: number, session = s?.derived[name]) {
  const sess = session ?? (await open(resolveModelPaths().detector));
  return sess.run({ image: new ort.Tensor('uint8', data, [n, ...RECIPES[name].imageDims]) });
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) (dot += a[i]! * b[i]!), (na += a[i]! ** 2), (nb += b[i]! ** 2);
  return dot / Math.sqrt(na * nb);
}

const concat = (items: readonly Uint8Array[]) => Uint8Array.from(Buffer.concat(items));
const values = (out: ort.InferenceSession.OnnxValueMapType, names: readonly string[]) => names.map((k) => out[k]!.data as Float32Array);

describe('derived detector', () => {
  it('matches the original on every sample photo', async (t) => {
    let worst = 0;
    for (const photo of PHOTOS) {
      const image = await detectorImage(photo);
      const [scores, boxes] = await runOriginal('detector', image);
      const derived = values(await runDerived('detector', image, 1), ['scores', 'boxes']);
      worst = Math.max(worst, maxAbsDiff(scores!, derived[0]!), maxAbsDiff(boxes!, derived[1]!));
    }
    t.diagnostic(`detector max abs diff ${worst.toExponential(2)}`);
    assert.ok(worst <= DETECTOR_TOLERANCE, `max abs diff ${worst}`);
  });

  it('gives a batch of 3 the same outputs as 3 single runs', async () => {
    const images = await Promise.all(PHOTOS.slice(0, 3).map(detectorImage));
    await assertBatchMatchesSingles('detector', images, ['scores', 'boxes'], DETECTOR_TOLERANCE);
  });
});

describe('derived landmarks', () => {
  it('matches the original on face crops', async (t) => {
    let worst = 0;
    for (const { grey } of faces) {
      const [original] = await runOriginal('landmarks', grey);
      const [derived] = values(await runDerived('landmarks', grey, 1), ['landmarks']);
      worst = Math.max(worst, maxAbsDiff(original!, derived!));
    }
    t.diagnostic(`landmarks max abs diff ${worst.toExponential(2)}`);
    assert.ok(worst <= LANDMARK_TOLERANCE, `max abs diff ${worst}`);
  });

  it('gives a batch of 3 the same outputs as 3 single runs', async () => {
    await assertBatchMatchesSingles('landmarks', faces.slice(0, 3).map((f) => f.grey), ['landmarks'], LANDMARK_TOLERANCE);
  });
});

describe('derived embedder', () => {
  it('matches the original on face crops (cosine and max abs diff)', async (t) => {
    let worst = 0;
    let worstCosine = 1;
    for (const { rgb } of faces) {
      const [original] = await runOriginal('embedder', rgb);
      const [derived] = values(await runDerived('embedder', rgb, 1), ['embedding']);
      assert.equal(derived!.length, 512);
      worst = Math.max(worst, maxAbsDiff(original!, derived!));
      worstCosine = Math.min(worstCosine, cosine(original!, derived!));
    }
    t.diagnostic(`embedder min cosine ${worstCosine.toFixed(9)}, max abs diff ${worst.toExponential(2)}`);
    assert.ok(worstCosine >= 0.99999, `cosine ${worstCosine}`);
    assert.ok(worst <= EMBEDDING_TOLERANCE, `max abs diff ${worst}`);
  });

  it('gives a batch of 3 the same outputs as 3 single runs', async () => {
    await assertBatchMatchesSingles('embedder', faces.slice(0, 3).map((f) => f.rgb), ['embedding'], EMBEDDING_TOLERANCE);
  });

  it('with tiny weights zeroed matches the same recipe without zeroing', async (t) => {
    const source = readFileSync(join(prepareLayout().originalDir, 'fr_feature.onnx'));
    const unzeroed = await open(deriveModel(source, RECIPES.embedder, { zeroTiny: false }).bytes);
    for (const { rgb } of faces.slice(0, 3)) {
      const [a] = values(await runDerived('embedder', rgb, 1), ['embedding']);
      const [b] = values(await runDerived('embedder', rgb, 1, unzeroed), ['embedding']);
      const c = cosine(a!, b!);
      t.diagnostic(`cosine ${c.toFixed(9)}, max abs diff ${maxAbsDiff(a!, b!).toExponential(2)}`);
      assert.equal(c.toFixed(6), '1.000000');
    }
  });
});

async function assertBatchMatchesSingles(name: keyof Sessions['derived'], items: Uint8Array[], outputs: string[], tolerance: number): Promise<void> {
  const batch = values(await runDerived(name, concat(items), items.length), outputs);
  for (const [i, item] of items.entries()) {
    const single = values(await runDerived(name, item, 1), outputs);
    for (const [k, out] of single.entries()) {
      const slice = batch[k]!.subarray(i * out.length, (i + 1) * out.length);
      assert.ok(maxAbsDiff(out, slice) <= tolerance, `${name} item ${i} output ${outputs[k]}`);
    }
  }
  // Different items must give different outputs, or the test proves nothing.
  assert.notDeepEqual(batch[0]!.subarray(0, 8), batch[0]!.subarray(batch[0]!.length / items.length, batch[0]!.length / items.length + 8));
}
