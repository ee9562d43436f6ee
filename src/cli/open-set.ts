/**
 * Open-set identification figures, as a watch list is used: some people are
 * enrolled, everyone shows up as a probe, and the system must both name the
 * enrolled and stay silent for the rest. Pure functions over embeddings.
 *
 * - DIR (detection and identification rate) at a threshold: mated probes
 *   (their subject is enrolled) whose best match is their subject, with a
 *   similarity at or above the threshold.
 * - FPIR (false positive identification rate): non-mated probes (subject not
 *   enrolled) whose best match reaches the threshold.
 * "DIR at FPIR 1%" uses the threshold at which 1% of non-mated probes get a name.
 */
import { cosineSimilarity } from '../pipeline/index.js';
import { meanTemplate } from '../store/subject-template.js';

export interface LabelledEmbedding {
  readonly subject: string;
  /** The photo's embedding as a probe. */
  readonly embedding: Float32Array;
  /** What enrolling the photo stores, when that differs (flip-averaged enrolment); default: `embedding`. */
  readonly enrolledEmbedding?: Float32Array;
}

export interface OpenSetOptions {
  /** Photos enrolled per enrolled subject; the rest of that subject's photos are mated probes. */
  readonly photosPerSubject: number;
  /** Match against one L2-normalised mean per subject instead of every enrolled face. */
  readonly templates: boolean;
  /** FPIR targets to report DIR at, e.g. [0.01, 0.05]. */
  readonly fpirTargets: readonly number[];
  /** Also report DIR and FPIR at this fixed threshold (the server's default). */
  readonly threshold: number;
}

export interface OpenSetReport {
  readonly enrolledSubjects: number;
  readonly matedProbes: number;
  readonly nonMatedProbes: number;
  /** Mated probes whose best match is their own subject, whatever the score. */
  readonly rankOne: number;
  readonly atFpir: ReadonlyArray<{ readonly fpir: number; readonly threshold: number; readonly dir: number }>;
  readonly atThreshold: { readonly threshold: number; readonly dir: number; readonly fpir: number };
}

interface Probe {
  readonly subject: string;
  readonly mated: boolean;
  readonly best: { readonly subject: string; readonly similarity: number } | undefined;
}

function bySubject(items: readonly LabelledEmbedding[]): Map<string, LabelledEmbedding[]> {
  const out = new Map<string, LabelledEmbedding[]>();
  for (const item of items) {
    const list = out.get(item.subject) ?? [];
    list.push(item);
    out.set(item.subject, list);
  }
  return out;
}

/**
 * Two complementary splits (every other subject enrolled, then the others),
 * pooled, so every subject is both a mated and a non-mated probe once.
 * Subjects with too few photos to leave a probe are never enrolled.
 */
function probesOf(items: readonly LabelledEmbedding[], options: OpenSetOptions): { probes: Probe[]; enrolledSubjects: number } {
  const subjects = bySubject(items);
  const names = [...subjects.keys()].sort();
  const probes: Probe[] = [];
  let enrolledSubjects = 0;
  for (const parity of [0, 1]) {
    const gallery: Array<{ subject: string; embedding: Float32Array }> = [];
    const enrolled = new Set<string>();
    names.forEach((name, i) => {
      const photos = subjects.get(name)!;
      if (i % 2 !== parity || photos.length <= options.photosPerSubject) return;
      enrolled.add(name);
      const enrolledPhotos = photos.slice(0, options.photosPerSubject).map((photo) => photo.enrolledEmbedding ?? photo.embedding);
      if (options.templates) gallery.push({ subject: name, embedding: meanTemplate(enrolledPhotos)! });
      else for (const embedding of enrolledPhotos) gallery.push({ subject: name, embedding });
    });
    enrolledSubjects += enrolled.size;
    for (const name of names) {
      const photos = subjects.get(name)!;
      const mated = enrolled.has(name);
      for (const { embedding } of mated ? photos.slice(options.photosPerSubject) : photos) {
        let best: Probe['best'];
        for (const entry of gallery) {
          const similarity = cosineSimilarity(embedding, entry.embedding);
          if (!best || similarity > best.similarity) best = { subject: entry.subject, similarity };
        }
        probes.push({ subject: name, mated, best });
      }
    }
  }
  return { probes, enrolledSubjects };
}

function ratesAtThreshold(probes: readonly Probe[], threshold: number): { dir: number; fpir: number } {
  const mated = probes.filter((p) => p.mated);
  const nonMated = probes.filter((p) => !p.mated);
  const hits = mated.filter((p) => p.best && p.best.subject === p.subject && p.best.similarity >= threshold).length;
  const falseAlarms = nonMated.filter((p) => p.best && p.best.similarity >= threshold).length;
  return { dir: mated.length ? hits / mated.length : 0, fpir: nonMated.length ? falseAlarms / nonMated.length : 0 };
}

/** The lowest threshold at which at most `target` of the non-mated probes get a name. */
export function thresholdForFpir(nonMatedBest: readonly number[], target: number): number {
  const sorted = [...nonMatedBest].sort((a, b) => b - a);
  const allowed = Math.floor(target * sorted.length);
  if (allowed >= sorted.length) return -Infinity;
  // Just above the first score that may not pass.
  return sorted[allowed]! + 1e-6;
}

export function openSetReport(items: readonly LabelledEmbedding[], options: OpenSetOptions): OpenSetReport {
  const { probes, enrolledSubjects } = probesOf(items, options);
  const mated = probes.filter((p) => p.mated);
  const nonMatedBest = probes.filter((p) => !p.mated && p.best).map((p) => p.best!.similarity);
  return {
    enrolledSubjects,
    matedProbes: mated.length,
    nonMatedProbes: probes.length - mated.length,
    rankOne: mated.length ? mated.filter((p) => p.best?.subject === p.subject).length / mated.length : 0,
    atFpir: options.fpirTargets.map((fpir) => {
      const threshold = thresholdForFpir(nonMatedBest, fpir);
      return { fpir, threshold, dir: ratesAtThreshold(probes, threshold).dir };
    }),
    atThreshold: { threshold: options.threshold, ...ratesAtThreshold(probes, options.threshold) },
  };
}
