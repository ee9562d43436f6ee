/**
 * Threshold calibration: pools negative pairs (different eval subjects,
 * faces within one photo, test photos against eval subjects) and positive
 * pairs (same eval subject, a test photo's faces against their re-encoded,
 * halved and mirrored copies), and picks the similarity threshold for a
 * target false-accept rate. See docs/threshold.md.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { cosineSimilarity, type DetectedFace, type FacePipeline } from '../pipeline/index.js';
import { meanTemplate } from '../store/subject-template.js';
import { ratesAt, scoreStats, thresholdForFar, type ErrorRates, type ScoreStats } from './eval-metrics.js';
import { listImages, photoVariants, withinPhotoPairs, type EvaluationReport } from './evaluation.js';

export interface CalibrationReport {
  readonly targetFar: number;
  readonly sources: Readonly<Record<string, ScoreStats>>;
  readonly negatives: ScoreStats;
  readonly positives: ScoreStats;
  readonly threshold: number;
  readonly gaussianThreshold: number;
  readonly maxNegative: number;
  readonly atThreshold: ErrorRates;
  /** Lowest detector score among the faces found at the configured threshold. */
  readonly detectScores: readonly number[];
}

function centre(face: DetectedFace) {
  return { x: (face.box.x1 + face.box.x2) / 2, y: (face.box.y1 + face.box.y2) / 2 };
}

/**
 * Recognize ranks subjects by template (the normalised mean of their faces),
 * and a template of several photos sits nearer the centre of a person's faces
 * than any one photo, so its similarities to strangers spread wider too. The
 * calibration therefore also pools strangers against two-photo templates.
 */
function twoPhotoTemplates(subjects: readonly { subject: string; embedding?: Float32Array }[]): Map<string, Float32Array> {
  const bySubject = new Map<string, Float32Array[]>();
  for (const s of subjects) if (s.embedding) bySubject.set(s.subject, [...(bySubject.get(s.subject) ?? []), s.embedding]);
  const out = new Map<string, Float32Array>();
  for (const [subject, embeddings] of bySubject) {
    const template = embeddings.length >= 2 ? meanTemplate(embeddings.slice(0, 2)) : undefined;
    if (template) out.set(subject, template);
  }
  return out;
}

export async function calibrate(report: EvaluationReport, photosDir: string, pipeline: FacePipeline, targetFar: number): Promise<CalibrationReport> {
  const evalSubjects = report.identities.filter((i) => i.embedding);
  const templates = twoPhotoTemplates(evalSubjects);
  const sources: Record<string, number[]> = {
    'eval: different subjects': [...report.negatives],
    'eval: photos × two-photo templates of other subjects': evalSubjects.flatMap((probe) =>
      [...templates].filter(([subject]) => subject !== probe.subject).map(([, template]) => cosineSimilarity(probe.embedding!, template)),
    ),
    'photos × two-photo templates': [],
    // Photos after the first two of a subject, against the template of its first two.
    'eval: photos × own two-photo template (positive)': evalSubjects
      .filter((probe, i) => templates.has(probe.subject) && evalSubjects.slice(0, i).filter((s) => s.subject === probe.subject).length >= 2)
      .map((probe) => cosineSimilarity(probe.embedding!, templates.get(probe.subject)!)),
    'eval: faces within one group photo': report.groups.flatMap((g) => withinPhotoPairs(g.faces)),
    'photos: faces within one photo': [],
    'photos × eval subjects': [],
    'eval: same subject (positive)': [...report.positives],
    'photos: same face, variant (positive)': [],
  };
  const detectScores: number[] = report.groups.flatMap((g) => g.faces.map((f) => f.score));
  for (const file of listImages(photosDir)) {
    const bytes = readFileSync(file);
    const result = await pipeline.analyze(bytes);
    detectScores.push(...result.faces.map((f) => f.score));
    sources['photos: faces within one photo']!.push(...withinPhotoPairs(result.faces));
    for (const face of result.faces) {
      if (!face.embedding) continue;
      for (const s of evalSubjects) sources['photos × eval subjects']!.push(cosineSimilarity(face.embedding, s.embedding!));
      for (const template of templates.values()) sources['photos × two-photo templates']!.push(cosineSimilarity(face.embedding, template));
    }
    for (const variant of await photoVariants(bytes)) {
      const other = await pipeline.analyze(variant.bytes);
      for (const face of result.faces) {
        if (!face.embedding) continue;
        const c = centre(face);
        const expected = { x: variant.mapX(c.x, result.width) * variant.scale, y: c.y * variant.scale };
        const match = other.faces.find((f) => f.embedding && Math.hypot(centre(f).x - expected.x, centre(f).y - expected.y) < 0.25 * (face.box.x2 - face.box.x1) * variant.scale);
        if (match?.embedding) sources['photos: same face, variant (positive)']!.push(cosineSimilarity(face.embedding, match.embedding));
        else process.stderr.write(`calibrate: ${basename(file)} ${variant.name}: face at ${c.x.toFixed(0)},${c.y.toFixed(0)} not found again\n`);
      }
    }
  }
  const negatives = Object.entries(sources).filter(([k]) => !k.includes('positive')).flatMap(([, v]) => v);
  const positives = Object.entries(sources).filter(([k]) => k.includes('positive')).flatMap(([, v]) => v);
  const pick = thresholdForFar(negatives, targetFar);
  const threshold = Math.ceil(pick.threshold * 100) / 100; // a round number, on the safe side
  return {
    targetFar,
    sources: Object.fromEntries(Object.entries(sources).map(([k, v]) => [k, scoreStats(v)])),
    negatives: scoreStats(negatives),
    positives: scoreStats(positives),
    threshold,
    gaussianThreshold: pick.gaussian,
    maxNegative: pick.maxNegative,
    atThreshold: ratesAt(positives, negatives, threshold),
    detectScores: detectScores.sort((a, b) => a - b),
  };
}
