/**
 * The enrolment quality measures (face size, sharpness, yaw) over an
 * evaluation folder, the test photos, and degraded copies of the folder's
 * portraits, with the configured limits applied: the figures behind the
 * defaults in README "Enrolment quality".
 *
 *   npx tsx bench/enrolment-quality.ts ../shared/eval [--photos test/photos] [--verbose]
 *
 * The folder is laid out as ../shared/eval is (identities/<subject>/<n>.png,
 * groups/*.jpg). Limits come from the usual config (FACEREC_ENROLMENT__*), so
 * candidate defaults can be tried without editing the schema.
 *
 * Sets: the portraits; the group faces the default face policy would enrol
 * and, for information, every group face; every face of the test photos;
 * each portrait blurred with a Gaussian of σ = 1, 1.5 and 2 px at the 112 px
 * scale the sharpness is measured at (so the blur is the same relative to
 * every face); each portrait shrunk so its face is about 40 px (the default
 * limit) and 26 px, on a grey 320×240 canvas; the σ = 2 copy with sensor-like
 * noise of σ = 2 grey levels added, which the Laplacian reads as detail. A degraded copy whose face is
 * no longer found counts as refused (enrolment says NO_FACE). For the
 * degraded copies "cos mean" is the mean cosine between the copy's embedding
 * and the portrait's: how far the degradation moves what would be enrolled.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { loadConfig } from '../src/config/load.js';
import { dot } from '../src/embedding.js';
import { openPipeline } from '../src/cli/open-pipeline.js';
import { isFacerecError } from '../src/errors.js';
import { FacePolicy } from '../src/gen/facerec/v1/facerec.js';
import { estimateYaw, faceSizePx, measureSharpness, SHARPNESS_SIZE_PX } from '../src/pipeline/face-quality.js';
import type { DetectedFace } from '../src/pipeline/types.js';
import { checkEnrolmentQuality, type EnrolmentQualitySettings } from '../src/server/enrolment-quality.js';
import { chooseFace, facePolicyNamed } from '../src/server/ingest.js';

const { values, positionals } = parseArgs({
  options: { photos: { type: 'string', default: 'test/photos' }, verbose: { type: 'boolean', default: false } },
  allowPositionals: true,
});
const folder = positionals[0];
if (!folder) {
  console.error('usage: npx tsx bench/enrolment-quality.ts <eval folder> [--photos test/photos] [--verbose]');
  process.exit(2);
}

const config = loadConfig();
const limits: EnrolmentQualitySettings = config.enrolment;
const faceChoice = { defaultPolicy: facePolicyNamed(config.enrolment.defaultFacePolicy), dominantAreaRatio: config.enrolment.dominantAreaRatio };
const { pipeline, close } = await openPipeline(config);

interface Measured {
  readonly label: string;
  readonly sizePx: number;
  readonly yawDeg: number;
  readonly sharpness: number;
  readonly sharpnessMs: number;
  /** The code the gate refuses the face with, or "pass". */
  readonly verdict: string;
}

const sets = new Map<string, Measured[]>();
const undetected = new Map<string, number>();
// Listed even when empty: the default policy enrols no face of a group photo.
sets.set('portraits', []);
sets.set('group faces (enrolled)', []);
/** Time the pipeline takes to analyse an image as an enrolment does, to set the measure's cost against. */
const analyzeMs = new Map<string, number[]>();
async function analyze(set: string, bytes: Buffer) {
  const started = performance.now();
  const result = await pipeline.analyze(bytes, { embed: true, flipAverage: config.enrolment.flipAverage });
  analyzeMs.set(set, [...(analyzeMs.get(set) ?? []), performance.now() - started]);
  return result;
}
function record(set: string, measured: Measured): void {
  if (!sets.has(set)) sets.set(set, []);
  sets.get(set)!.push(measured);
  if (values.verbose) {
    const { label, sizePx, yawDeg, sharpness, verdict } = measured;
    console.log(`${set.padEnd(24)} ${label.padEnd(26)} ${sizePx.toFixed(0).padStart(4)} px  yaw ${yawDeg.toFixed(1).padStart(6)}°  sharpness ${sharpness.toFixed(2).padStart(5)}  ${verdict}`);
  }
}

async function measure(set: string, label: string, bytes: Buffer, face: DetectedFace, width: number, height: number): Promise<Measured> {
  const started = performance.now();
  const sharpness = await measureSharpness(bytes, face.box, width, height);
  const sharpnessMs = performance.now() - started;
  let verdict = 'pass';
  try {
    await checkEnrolmentQuality({ bytes, width, height }, face, limits);
  } catch (error) {
    if (!isFacerecError(error)) throw error;
    verdict = error.code;
  }
  const measured = { label, sizePx: faceSizePx(face.box), yawDeg: estimateYaw(face.landmarks)?.yawDeg ?? Number.NaN, sharpness, sharpnessMs, verdict };
  record(set, measured);
  return measured;
}

/** The face an enrolment with FACE_POLICY_LARGEST would take (the portraits hold one face). */
async function largest(set: string, bytes: Buffer) {
  const result = await analyze(set, bytes);
  try {
    return { result, face: chooseFace(result.faces, FacePolicy.FACE_POLICY_LARGEST) };
  } catch {
    return { result, face: undefined };
  }
}

async function measureLargest(set: string, label: string, bytes: Buffer): Promise<DetectedFace | undefined> {
  const { result, face } = await largest(set, bytes);
  if (face === undefined) {
    undetected.set(set, (undetected.get(set) ?? 0) + 1);
    if (values.verbose) console.log(`${set.padEnd(24)} ${label.padEnd(26)} no face`);
    return undefined;
  }
  await measure(set, label, bytes, face, result.width, result.height);
  return face;
}

const cosines = new Map<string, number[]>();

/** The image with Gaussian noise of `sigma` grey levels added (seeded), as a camera sensor adds it. */
let seed = 1;
async function withNoise(bytes: Buffer, sigma: number): Promise<Buffer> {
  const uniform = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) + 1) / 2 ** 31;
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  const noisy = data.map((v) => Math.max(0, Math.min(255, Math.round(v + sigma * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform())))));
  return sharp(noisy, { raw: { width: info.width, height: info.height, channels: info.channels } }).png().toBuffer();
}

async function shrunk(bytes: Buffer, face: DetectedFace, targetPx: number): Promise<Buffer> {
  const meta = await sharp(bytes).metadata();
  const width = Math.max(1, Math.round((meta.width! * targetPx) / faceSizePx(face.box)));
  const small = await sharp(bytes).resize({ width }).png().toBuffer();
  return sharp({ create: { width: 320, height: 240, channels: 3, background: '#808080' } }).composite([{ input: small, left: 100, top: 60 }]).png().toBuffer();
}

const identities = join(folder, 'identities');
for (const subject of readdirSync(identities).sort()) {
  for (const file of readdirSync(join(identities, subject)).sort()) {
    const label = `${subject}/${file}`;
    const bytes = readFileSync(join(identities, subject, file));
    const face = await measureLargest('portraits', label, bytes);
    if (face === undefined) continue;
    // How far each degradation moves the embedding: what a refused copy would have cost the gallery.
    const drift = async (set: string, copy: Buffer) => {
      const degraded = await measureLargest(set, label, copy);
      if (degraded) cosines.set(set, [...(cosines.get(set) ?? []), dot(face.embedding!, degraded.embedding!)]);
    };
    for (const sigma of [1, 1.5, 2]) {
      await drift(`blurred σ=${sigma}@${SHARPNESS_SIZE_PX}px`, await sharp(bytes).blur((sigma * faceSizePx(face.box)) / SHARPNESS_SIZE_PX).png().toBuffer());
    }
    const blurred2 = await sharp(bytes).blur((2 * faceSizePx(face.box)) / SHARPNESS_SIZE_PX).png().toBuffer();
    await drift(`blurred σ=2 + noise σ=2`, await withNoise(blurred2, 2));
    for (const targetPx of [40, 26]) await drift(`shrunk to ~${targetPx} px`, await shrunk(bytes, face, targetPx));
  }
}

const groups = join(folder, 'groups');
for (const file of readdirSync(groups).filter((name) => /\.(jpe?g|png)$/i.test(name)).sort()) {
  const bytes = readFileSync(join(groups, file));
  const result = await analyze('groups', bytes);
  let enrolled: DetectedFace | undefined;
  try {
    enrolled = chooseFace(result.faces, FacePolicy.FACE_POLICY_UNSPECIFIED, faceChoice);
  } catch {
    enrolled = undefined;
  }
  for (const [i, face] of result.faces.filter((f) => f.embedding).entries()) {
    const measured = await measure('group faces (all)', `${file}#${i}`, bytes, face, result.width, result.height);
    if (face === enrolled) record('group faces (enrolled)', measured);
  }
}

for (const file of readdirSync(values.photos).filter((name) => /\.jpe?g$/i.test(name)).sort()) {
  const bytes = readFileSync(join(values.photos, file));
  const result = await analyze('test photo faces', bytes);
  for (const [i, face] of result.faces.filter((f) => f.embedding).entries()) await measure('test photo faces', `${file}#${i}`, bytes, face, result.width, result.height);
}
await close();

const range = (xs: number[], digits: number) => (xs.length === 0 ? '-' : `${Math.min(...xs).toFixed(digits)}..${Math.max(...xs).toFixed(digits)}`);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
console.log(`limits: minFaceSizePx ${limits.minFaceSizePx}, minSharpness ${limits.minSharpness}, maxYawDeg ${limits.maxYawDeg} (0 = off)`);
console.log(`${'set'.padEnd(24)}${'faces'.padStart(6)}${'no face'.padStart(9)}  ${'size px'.padEnd(12)}${'|yaw| °'.padEnd(12)}${'sharpness'.padEnd(12)}${'cos mean'.padEnd(10)}verdicts`);
for (const [set, rows] of sets) {
  const verdicts = new Map<string, number>();
  for (const row of rows) verdicts.set(row.verdict, (verdicts.get(row.verdict) ?? 0) + 1);
  console.log(
    `${set.padEnd(24)}${String(rows.length).padStart(6)}${String(undetected.get(set) ?? 0).padStart(9)}  ` +
      `${range(rows.map((r) => r.sizePx), 0).padEnd(12)}${range(rows.map((r) => Math.abs(r.yawDeg)), 1).padEnd(12)}${range(rows.map((r) => r.sharpness), 2).padEnd(12)}` +
      `${(cosines.has(set) ? mean(cosines.get(set)!).toFixed(3) : '-').padEnd(10)}` +
      [...verdicts].map(([verdict, n]) => `${verdict} ${n}`).join(', '),
  );
}
for (const [set, what] of [['portraits', '150 px portraits'], ['test photo faces', '1920 px test photos']] as const) {
  const sharpnessMs = mean((sets.get(set) ?? []).map((r) => r.sharpnessMs));
  console.log(`${what}: sharpness measure ${sharpnessMs.toFixed(1)} ms a face, pipeline analysis as enrolment runs it ${mean(analyzeMs.get(set) ?? []).toFixed(0)} ms an image`);
}
