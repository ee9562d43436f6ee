/**
 * The evaluation behind `npm run eval` and `npm run calibrate`, on a folder
 * laid out like ../shared/eval: identities/<subject>/* (one face per image)
 * and groups/*.jpg with groups/manifest.tsv (file, expected face count).
 */
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { cosineSimilarity, largestFace, type DetectedFace, type FacePipeline } from '../pipeline/index.js';
import { isFacerecError } from '../errors.js';
import { FacePolicy } from '../gen/facerec/v1/facerec.js';
import { chooseFace } from '../server/ingest.js';
import { bestThreshold, rankOneCorrect, ratesAt, type ErrorRates } from './eval-metrics.js';
import { openSetReport, type OpenSetReport } from './open-set.js';

const IMAGE_EXT = /\.(jpe?g|png|webp|gif|tiff?|avif|heic)$/i;

/** Which side of a match is flip-averaged, as the server's settings choose. */
export interface EmbeddingChoice {
  /** Enrolled photos (`enrolment.flipAverage`). */
  readonly flipAverageEnrolment: boolean;
  /** Probes: Recognize, Verify (`pipeline.flipAverageProbes`). */
  readonly flipAverageProbes: boolean;
}

export const PLAIN_EMBEDDINGS: EmbeddingChoice = { flipAverageEnrolment: false, flipAverageProbes: false };

export interface IdentityImage {
  readonly subject: string;
  readonly file: string;
  /** The photo's embedding as a probe. */
  readonly embedding?: Float32Array;
  /** What enrolling the photo stores; differs from `embedding` when only one side is flip-averaged. */
  readonly enrolledEmbedding?: Float32Array;
  /** What an enrolment of this photo with the default face policy gives: 'enrolled' or the error code. */
  readonly enrolment: string;
}

export interface GroupPhoto {
  readonly file: string;
  readonly expectedFaces?: number;
  readonly faces: readonly DetectedFace[];
  /** Per face (score order): the enrolled subject it matched, or undefined. */
  readonly assigned: readonly ({ subject: string; similarity: number } | undefined)[];
}

export interface EvaluationReport {
  readonly embeddings: EmbeddingChoice;
  readonly identities: readonly IdentityImage[];
  readonly undetected: readonly string[];
  readonly positives: readonly number[];
  readonly negatives: readonly number[];
  readonly best: ErrorRates;
  readonly atDefault: ErrorRates;
  readonly rankOne: { correct: number; total: number; misses: string[] };
  readonly groups: readonly GroupPhoto[];
  /** Identity photos the default face policy enrols, out of all. */
  readonly enrolmentCoverage: { readonly enrolled: number; readonly total: number; readonly refused: readonly string[] };
  /** Watch-list figures: one and two photos per enrolled subject, matched by best face or by template. */
  readonly openSet: ReadonlyArray<{ readonly photosPerSubject: number; readonly templates: boolean; readonly report: OpenSetReport }>;
}

export const OPEN_SET_FPIR_TARGETS = [0.01, 0.05] as const;

export function listImages(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => IMAGE_EXT.test(f) && statSync(join(dir, f)).isFile())
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((f) => join(dir, f));
}

export function readManifest(groupsDir: string): Map<string, number | undefined> {
  const path = join(groupsDir, 'manifest.tsv');
  const out = new Map<string, number | undefined>();
  if (!existsSync(path)) return out;
  for (const line of readFileSync(path, 'utf8').split('\n').slice(1)) {
    const [file, faces] = line.split('\t');
    if (!file?.trim()) continue;
    const n = Number.parseInt(faces ?? '', 10);
    out.set(file.trim(), Number.isFinite(n) ? n : undefined);
  }
  return out;
}

/**
 * Every identity photo embedded as a probe and as an enrolment would embed
 * it. Enrolled and probe photos are treated as the server treats them, so
 * the figures measure the settings the server runs with.
 */
export async function embedIdentities(folder: string, pipeline: FacePipeline, choice: EmbeddingChoice = PLAIN_EMBEDDINGS): Promise<IdentityImage[]> {
  const root = join(folder, 'identities');
  const subjects = readdirSync(root).filter((d) => statSync(join(root, d)).isDirectory()).sort();
  const out: IdentityImage[] = [];
  for (const subject of subjects) {
    for (const file of listImages(join(root, subject))) {
      const bytes = readFileSync(file);
      const result = await pipeline.analyze(bytes, { flipAverage: choice.flipAverageProbes });
      const face = largestFace(result.faces.filter((f) => f.embedding));
      const enrolment = enrolmentOutcome(result.faces);
      if (!face?.embedding) {
        out.push({ subject, file, enrolment });
        continue;
      }
      // The detector and landmarks are deterministic, so a second pass finds the same largest face.
      const enrolled =
        choice.flipAverageEnrolment === choice.flipAverageProbes
          ? face
          : largestFace((await pipeline.analyze(bytes, { flipAverage: choice.flipAverageEnrolment })).faces.filter((f) => f.embedding));
      out.push({ subject, file, embedding: face.embedding, enrolledEmbedding: enrolled?.embedding ?? face.embedding, enrolment });
    }
  }
  return out;
}

function enrolmentOutcome(faces: readonly DetectedFace[]): string {
  try {
    chooseFace(faces, FacePolicy.FACE_POLICY_UNSPECIFIED);
    return 'enrolled';
  } catch (error) {
    return isFacerecError(error) ? error.code : 'error';
  }
}

/** Different-person pairs inside one photo: every pair of faces in it. */
export function withinPhotoPairs(faces: readonly DetectedFace[]): number[] {
  const embedded = faces.filter((f) => f.embedding);
  const out: number[] = [];
  for (let i = 0; i < embedded.length; i++) for (let j = i + 1; j < embedded.length; j++) out.push(cosineSimilarity(embedded[i]!.embedding!, embedded[j]!.embedding!));
  return out;
}

/**
 * Verification pairs compare two probes, as Verify does; rank-1, the open
 * set and the group photos match probes against enrolled photos.
 */
export async function evaluate(folder: string, pipeline: FacePipeline, defaultThreshold: number, embeddings: EmbeddingChoice = PLAIN_EMBEDDINGS): Promise<EvaluationReport> {
  const identities = await embedIdentities(folder, pipeline, embeddings);
  const found = identities.filter((i) => i.embedding);
  const undetected = identities.filter((i) => !i.embedding).map((i) => `${i.subject}/${basename(i.file)}`);
  const positives: number[] = [];
  const negatives: number[] = [];
  for (let i = 0; i < found.length; i++) {
    for (let j = i + 1; j < found.length; j++) {
      const s = cosineSimilarity(found[i]!.embedding!, found[j]!.embedding!);
      (found[i]!.subject === found[j]!.subject ? positives : negatives).push(s);
    }
  }
  // Probe i against the other photos as enrolled.
  const r1 = rankOneCorrect(found.map((f) => f.subject), (i, j) => cosineSimilarity(found[i]!.embedding!, found[j]!.enrolledEmbedding!));

  // Enrol the first detectable crop of each subject, then name the faces in each group photo.
  const enrolled = new Map<string, Float32Array>();
  for (const f of found) if (!enrolled.has(f.subject)) enrolled.set(f.subject, f.enrolledEmbedding!);
  const groupsDir = join(folder, 'groups');
  const manifest = readManifest(groupsDir);
  const groups: GroupPhoto[] = [];
  for (const file of listImages(groupsDir)) {
    const result = await pipeline.analyze(readFileSync(file), { flipAverage: embeddings.flipAverageProbes });
    const assigned = result.faces.map((face) => {
      if (!face.embedding) return undefined;
      let best: { subject: string; similarity: number } | undefined;
      for (const [subject, e] of enrolled) {
        const similarity = cosineSimilarity(face.embedding, e);
        if (!best || similarity > best.similarity) best = { subject, similarity };
      }
      return best && best.similarity >= defaultThreshold ? best : undefined;
    });
    const expected = manifest.get(basename(file));
    groups.push({ file: basename(file), ...(expected === undefined ? {} : { expectedFaces: expected }), faces: result.faces, assigned });
  }

  return {
    embeddings,
    identities,
    undetected,
    positives,
    negatives,
    best: bestThreshold(positives, negatives),
    atDefault: ratesAt(positives, negatives, defaultThreshold),
    rankOne: { correct: r1.correct, total: r1.total, misses: r1.misses.map((i) => `${found[i]!.subject}/${basename(found[i]!.file)}`) },
    groups,
    enrolmentCoverage: {
      enrolled: identities.filter((i) => i.enrolment === 'enrolled').length,
      total: identities.length,
      refused: identities.filter((i) => i.enrolment !== 'enrolled').map((i) => `${i.subject}/${basename(i.file)} (${i.enrolment})`),
    },
    openSet: [1, 2].flatMap((photosPerSubject) =>
      [false, true].map((templates) => ({
        photosPerSubject,
        templates,
        report: openSetReport(
          found.map((f) => ({ subject: f.subject, embedding: f.embedding!, enrolledEmbedding: f.enrolledEmbedding! })),
          { photosPerSubject, templates, fpirTargets: OPEN_SET_FPIR_TARGETS, threshold: defaultThreshold },
        ),
      })),
    ),
  };
}

/** Same-face variants of a photo for positive pairs: JPEG q70, half size, mirrored. */
export async function photoVariants(bytes: Buffer): Promise<Array<{ name: string; bytes: Buffer; mapX: (x: number, width: number) => number; scale: number }>> {
  const upright = await sharp(bytes).rotate().toBuffer();
  const meta = await sharp(upright).metadata();
  return [
    { name: 'jpeg-q70', bytes: await sharp(upright).jpeg({ quality: 70 }).toBuffer(), mapX: (x) => x, scale: 1 },
    { name: 'half', bytes: await sharp(upright).resize(Math.round(meta.width! / 2)).jpeg({ quality: 95 }).toBuffer(), mapX: (x) => x, scale: 0.5 },
    { name: 'mirror', bytes: await sharp(upright).flop().jpeg({ quality: 95 }).toBuffer(), mapX: (x, w) => w - x, scale: 1 },
  ];
}
