/**
 * Who a track is, decided from all of its embeddings rather than the last
 * one, so a single blurred or turned frame cannot flip the answer.
 *
 * Each embedding's nearest subject is one observation, weighted by how much
 * it should count (face area × detector score: a big, confident face is
 * better evidence than a small, doubtful one, as Frigate weighs its face
 * recognitions). The subject with the most weight is the candidate; its
 * similarity is the weighted mean of its observations with the extreme
 * fifth cut off at each end, and the track takes that identity once the mean
 * reaches the similarity threshold.
 */

export interface IdentityObservation<M> {
  readonly subjectId: string;
  readonly similarity: number;
  readonly weight: number;
  /** What the caller wants back with a decision (the store's match: face id, payload). */
  readonly match: M;
}

export interface IdentityDecision<M> {
  readonly subjectId: string;
  /** Weighted trimmed mean of the subject's similarities on this track. */
  readonly similarity: number;
  /** The subject's most recent match on this track. */
  readonly match: M;
}

/** Observations kept per track: a long track is judged on its recent faces. */
export const MAX_OBSERVATIONS = 32;
/** Share of the weight cut off at each end before averaging. */
export const TRIM_FRACTION = 0.2;

/**
 * Weighted mean of the values with `trim` of the total weight removed from
 * the low end and from the high end (partially removing a value where the cut
 * falls inside its weight). One value returns itself. Undefined for no weight.
 */
export function weightedTrimmedMean(samples: ReadonlyArray<{ value: number; weight: number }>, trim = TRIM_FRACTION): number | undefined {
  const sorted = samples.filter((s) => s.weight > 0).sort((a, b) => a.value - b.value);
  const total = sorted.reduce((sum, s) => sum + s.weight, 0);
  if (total <= 0) return undefined;
  const kept = sorted.map((s) => s.weight);
  const cut = (order: number[]) => {
    let left = total * Math.min(Math.max(trim, 0), 0.49);
    for (const i of order) {
      const removed = Math.min(kept[i]!, left);
      kept[i]! -= removed;
      left -= removed;
      if (left <= 0) break;
    }
  };
  const indexes = sorted.map((_, i) => i);
  cut(indexes);
  cut(indexes.slice().reverse());
  let sum = 0;
  let weight = 0;
  sorted.forEach((s, i) => {
    sum += s.value * kept[i]!;
    weight += kept[i]!;
  });
  return weight > 0 ? sum / weight : undefined;
}

export class TrackIdentity<M> {
  readonly #observations: IdentityObservation<M>[] = [];

  add(observation: IdentityObservation<M>): void {
    this.#observations.push(observation);
    if (this.#observations.length > MAX_OBSERVATIONS) this.#observations.shift();
  }

  get size(): number {
    return this.#observations.length;
  }

  /** The best-supported subject and its trimmed mean similarity, whatever the threshold; undefined with no observation. */
  nearest(): IdentityDecision<M> | undefined {
    const bySubject = new Map<string, IdentityObservation<M>[]>();
    for (const o of this.#observations) bySubject.set(o.subjectId, [...(bySubject.get(o.subjectId) ?? []), o]);
    let best: { subjectId: string; weight: number; list: IdentityObservation<M>[] } | undefined;
    for (const [subjectId, list] of bySubject) {
      const weight = list.reduce((sum, o) => sum + o.weight, 0);
      if (!best || weight > best.weight) best = { subjectId, weight, list };
    }
    if (!best) return undefined;
    const similarity = weightedTrimmedMean(best.list.map((o) => ({ value: o.similarity, weight: o.weight })));
    if (similarity === undefined) return undefined;
    return { subjectId: best.subjectId, similarity, match: best.list[best.list.length - 1]!.match };
  }

  /** The track's identity: the nearest subject when its trimmed mean reaches the threshold. */
  decide(threshold: number): IdentityDecision<M> | undefined {
    const nearest = this.nearest();
    return nearest && nearest.similarity >= threshold ? nearest : undefined;
  }
}
