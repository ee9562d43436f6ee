/**
 * Verification and identification figures from similarity scores; pure
 * functions so the evaluation and calibration share one definition.
 * A pair "matches" when its cosine similarity is ≥ the threshold.
 */

export interface ErrorRates {
  readonly threshold: number;
  readonly accuracy: number;
  /** False-accept rate: negative pairs at or above the threshold / all negative pairs. */
  readonly far: number;
  /** False-reject rate: positive pairs below the threshold / all positive pairs. */
  readonly frr: number;
  readonly falseAccepts: number;
  readonly falseRejects: number;
}

export function ratesAt(positives: readonly number[], negatives: readonly number[], threshold: number): ErrorRates {
  const falseRejects = positives.filter((s) => s < threshold).length;
  const falseAccepts = negatives.filter((s) => s >= threshold).length;
  const total = positives.length + negatives.length;
  return {
    threshold,
    accuracy: total === 0 ? 1 : (total - falseRejects - falseAccepts) / total,
    far: negatives.length === 0 ? 0 : falseAccepts / negatives.length,
    frr: positives.length === 0 ? 0 : falseRejects / positives.length,
    falseAccepts,
    falseRejects,
  };
}

/** The threshold with the highest accuracy; among ties, the middle of the widest gap. */
export function bestThreshold(positives: readonly number[], negatives: readonly number[]): ErrorRates {
  const scores = [...new Set([...positives, ...negatives])].sort((a, b) => a - b);
  const candidates = [scores[0]! - 1e-6, ...scores.slice(1).map((s, i) => (s + scores[i]!) / 2), scores[scores.length - 1]! + 1e-6];
  let best = ratesAt(positives, negatives, candidates[0]!);
  let bestGap = -1;
  for (let i = 0; i < candidates.length; i++) {
    const r = ratesAt(positives, negatives, candidates[i]!);
    const gap = i > 0 && i < candidates.length - 1 ? scores[i]! - scores[i - 1]! : 0;
    if (r.accuracy > best.accuracy || (r.accuracy === best.accuracy && gap > bestGap)) {
      best = r;
      bestGap = gap;
    }
  }
  return best;
}

export interface ScoreStats {
  readonly count: number;
  readonly mean: number;
  readonly sd: number;
  readonly min: number;
  readonly max: number;
}

export function scoreStats(scores: readonly number[]): ScoreStats {
  const count = scores.length;
  const mean = scores.reduce((s, x) => s + x, 0) / Math.max(1, count);
  const sd = Math.sqrt(scores.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, count - 1));
  return { count, mean, sd, min: Math.min(...scores), max: Math.max(...scores) };
}

/** Standard normal upper-tail quantile (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantileUpper(p: number): number {
  const q = 1 - p;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const tail = (r: number) =>
    (((((c[0]! * r + c[1]!) * r + c[2]!) * r + c[3]!) * r + c[4]!) * r + c[5]!) / ((((d[0]! * r + d[1]!) * r + d[2]!) * r + d[3]!) * r + 1);
  if (q < 0.02425) return tail(Math.sqrt(-2 * Math.log(q)));
  if (q > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - q)));
  const r = q - 0.5;
  const t = r * r;
  return ((((((a[0]! * t + a[1]!) * t + a[2]!) * t + a[3]!) * t + a[4]!) * t + a[5]!) * r) / (((((b[0]! * t + b[1]!) * t + b[2]!) * t + b[3]!) * t + b[4]!) * t + 1);
}

/**
 * Threshold for a target false-accept rate. A few thousand negative pairs
 * cannot measure 1e-4 directly, so the tail is extrapolated from a normal fit
 * of the negative scores (cosines of unrelated faces are close to normal),
 * and never set below the highest negative seen.
 */
export function thresholdForFar(negatives: readonly number[], targetFar: number): { threshold: number; gaussian: number; maxNegative: number } {
  const stats = scoreStats(negatives);
  const gaussian = stats.mean + normalQuantileUpper(targetFar) * stats.sd;
  return { threshold: Math.max(gaussian, stats.max + 1e-3), gaussian, maxNegative: stats.max };
}

/** Leave-one-out rank-1: each item's nearest other item must carry its label. */
export function rankOneCorrect(labels: readonly string[], similarity: (i: number, j: number) => number): { correct: number; total: number; misses: number[] } {
  let correct = 0;
  const misses: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    let best = -1;
    let bestScore = -Infinity;
    for (let j = 0; j < labels.length; j++) {
      if (j === i) continue;
      const s = similarity(i, j);
      if (s > bestScore) {
        bestScore = s;
        best = j;
      }
    }
    if (best >= 0 && labels[best] === labels[i]) correct++;
    else misses.push(i);
  }
  return { correct, total: labels.length, misses };
}
