/**
 * Accuracy of a library on the evaluation set (identities/<subject>/<n>.png),
 * with the definitions of facerec's own `npm run eval` (src/cli/eval-metrics.ts):
 * best-threshold verification accuracy over every pair of crops (same folder
 * = same person) and leave-one-out rank-1 identification.
 *
 * One difference: facerec's eval leaves a crop with no detected face out;
 * here it counts against the library. Every pair with such a crop is wrong,
 * whatever the threshold, and such a crop as a probe is a rank-1 miss (it
 * is never anyone's nearest neighbour either).
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { bestThreshold, rankOneCorrect } from '../../src/cli/eval-metrics.js';
import { cosineSimilarity, l2Normalize } from '../../src/pipeline/embedder.js';
import type { EmbeddingMetric } from './face-library.js';

export interface IdentityCrop {
  readonly subject: string;
  readonly path: string;
}

export interface IdentityEval {
  /** How `threshold` reads: a cosine similarity (same person when ≥) or a euclidean distance (same person when ≤). */
  readonly metric: EmbeddingMetric;
  /** Correct pairs / all pairs, pairs with an undetected crop counted wrong. */
  readonly verificationAccuracy: number;
  readonly threshold: number;
  readonly rankOne: { readonly correct: number; readonly total: number };
  /** Crops in which the library found no face. */
  readonly undetected: number;
  readonly undetectedCrops: readonly string[];
}

const IMAGE_FILE = /\.(png|jpe?g|webp)$/i;

/** The crops of `<evalDir>/identities`, subjects and files in name order; `perSubject` keeps the first few. */
export function listIdentityCrops(evalDir: string, perSubject = Infinity): IdentityCrop[] {
  const root = join(evalDir, 'identities');
  const byNumber = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });
  const subjects = readdirSync(root).filter((s) => statSync(join(root, s)).isDirectory()).sort(byNumber);
  const crops = subjects.flatMap((subject) =>
    readdirSync(join(root, subject)).filter((f) => IMAGE_FILE.test(f)).sort(byNumber).slice(0, perSubject).map((f) => ({ subject, path: join(root, subject, f) })),
  );
  if (crops.length < 2) throw new Error(`${root}: expected identities/<subject>/<n>.png crops, found ${crops.length}`);
  return crops;
}

function cosine(a: readonly number[], b: readonly number[]): number {
  return cosineSimilarity(l2Normalize(Float32Array.from(a)), l2Normalize(Float32Array.from(b)));
}

function euclidean(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(sum);
}

/** Higher is more alike, for both metrics (a distance is negated). */
function similarityOf(metric: EmbeddingMetric): (a: readonly number[], b: readonly number[]) => number {
  return metric === 'cosine-similarity' ? cosine : (a, b) => -euclidean(a, b);
}

/** `embeddings[i]` is crop i's largest face's embedding, undefined where none was found. */
export function evaluateIdentities(crops: readonly IdentityCrop[], embeddings: readonly (readonly number[] | undefined)[], metric: EmbeddingMetric): IdentityEval {
  const similarity = similarityOf(metric);
  const positives: number[] = [];
  const negatives: number[] = [];
  let pairs = 0;
  for (let i = 0; i < crops.length; i++) {
    for (let j = i + 1; j < crops.length; j++) {
      pairs++;
      const a = embeddings[i];
      const b = embeddings[j];
      if (!a || !b) continue;
      (crops[i]!.subject === crops[j]!.subject ? positives : negatives).push(similarity(a, b));
    }
  }
  const scored = positives.length + negatives.length;
  const best = scored > 0 && positives.length > 0 && negatives.length > 0 ? bestThreshold(positives, negatives) : undefined;
  const correct = best ? scored - best.falseAccepts - best.falseRejects : 0;
  const rankOne = rankOneCorrect(
    crops.map((c) => c.subject),
    (i, j) => {
      const a = embeddings[i];
      const b = embeddings[j];
      return a && b ? similarity(a, b) : -Infinity;
    },
  );
  const undetectedCrops = crops.filter((_, i) => !embeddings[i]).map((c) => `${c.subject}/${basename(c.path)}`);
  return {
    metric,
    verificationAccuracy: pairs === 0 ? 0 : correct / pairs,
    threshold: best ? (metric === 'euclidean-distance' ? -best.threshold : best.threshold) : Number.NaN,
    rankOne: { correct: rankOne.correct, total: rankOne.total },
    undetected: undetectedCrops.length,
    undetectedCrops,
  };
}
