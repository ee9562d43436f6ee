/**
 * Quick timing of the derived models against the originals:
 *   1. embedder per face on one thread, original vs derived;
 *   2. derived embedder and detector throughput at batch 1, 4 and 8 on two threads.
 * Usage: npx tsx bench/models-bench.ts [runs=50]
 * Needs `npm run models` first. Numbers depend on the CPU; run on a quiet machine.
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { packageRoot } from '../src/package-root.js';
import { RECIPES } from '../src/models/derive.js';
import { resolveModelPaths } from '../src/models/manifest.js';
import { prepareLayout } from '../src/models/prepare.js';

const runs = Number(process.argv[2] ?? 50);

async function timeRuns(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, count: number): Promise<number> {
  for (let i = 0; i < 3; i++) await session.run(feeds);
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await session.run(feeds);
  return Number(process.hrtime.bigint() - start) / 1e6 / count;
}

function randomBytes(length: number): Uint8Array {
  const data = new Uint8Array(length);
  for (let i = 0; i < length; i++) data[i] = (i * 2654435761) >>> 24;
  return data;
}

const options = (threads: number): ort.InferenceSession.SessionOptions => ({ intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
const paths = resolveModelPaths();

const original = await ort.InferenceSession.create(join(prepareLayout().originalDir, 'fr_feature.onnx'), options(1));
const derived1 = await ort.InferenceSession.create(paths.embedder, options(1));
// A real face: denormal slowdowns depend on the activations, so random bytes could hide them.
const face = Uint8Array.from(
  await sharp(join(packageRoot(), 'test', 'photos', 'sample1.jpg'))
    .extract({ left: 417, top: 358, width: 184, height: 237 })
    .resize(112, 112, { fit: 'fill' })
    .removeAlpha()
    .raw()
    .toBuffer(),
);
const floatFace = new Float32Array(face.length);
for (let c = 0; c < 3; c++) for (let p = 0; p < 112 * 112; p++) floatFace[c * 112 * 112 + p] = (face[p * 3 + c]! - 127) / 128;
const originalMs = await timeRuns(original, { input: new ort.Tensor('float32', floatFace, [1, 3, 112, 112]) }, runs);
const derivedMs = await timeRuns(derived1, { image: new ort.Tensor('uint8', face, [1, 112, 112, 3]) }, runs);
console.log(`embedder, 1 thread, ${runs} runs: original ${originalMs.toFixed(1)} ms/face, derived ${derivedMs.toFixed(1)} ms/face`);

for (const name of ['embedder', 'detector'] as const) {
  const session = await ort.InferenceSession.create(paths[name], options(2));
  const itemDims = RECIPES[name].imageDims;
  const itemSize = itemDims[0] * itemDims[1] * itemDims[2];
  const line: string[] = [];
  for (const batch of [1, 4, 8]) {
    const feeds = { image: new ort.Tensor('uint8', randomBytes(itemSize * batch), [batch, ...itemDims]) };
    const ms = await timeRuns(session, feeds, Math.max(3, Math.round(runs / batch)));
    line.push(`batch ${batch}: ${ms.toFixed(1)} ms/run, ${((batch * 1000) / ms).toFixed(0)} items/s`);
  }
  console.log(`${name}, 2 threads: ${line.join('; ')}`);
}
