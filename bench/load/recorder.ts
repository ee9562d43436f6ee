/**
 * What a run records, in bounded memory: latencies overall, per input kind
 * and per second of the run, and failures by key.
 *
 * Percentiles come from the sorted latencies themselves. Past a cap on
 * stored samples a series keeps a uniform random sample of everything it
 * saw (reservoir sampling, Vitter's algorithm R), so percentiles stay
 * unbiased on long runs; count, mean and max are always exact.
 */
import type { InputKind } from './inputs.js';

const SAMPLES_PER_SERIES = 200_000;
const SAMPLES_PER_SECOND = 2_000;

export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export class LatencySeries {
  private readonly samples: number[] = [];
  private count = 0;
  private sumMs = 0;
  private maxMs = 0;

  constructor(private readonly cap = SAMPLES_PER_SERIES) {}

  add(ms: number): void {
    this.count++;
    this.sumMs += ms;
    this.maxMs = Math.max(this.maxMs, ms);
    if (this.samples.length < this.cap) this.samples.push(ms);
    else {
      const slot = Math.floor(Math.random() * this.count);
      if (slot < this.cap) this.samples[slot] = ms;
    }
  }

  summary(): LatencySummary {
    const sorted = Float64Array.from(this.samples).sort();
    // Nearest rank: the smallest sample with at least q of the samples at or below it.
    const at = (q: number) => (sorted.length === 0 ? 0 : round(sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!));
    return { count: this.count, meanMs: this.count ? round(this.sumMs / this.count) : 0, p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99), maxMs: round(this.maxMs) };
  }
}

export const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

export interface SecondBucket {
  readonly latencies: LatencySeries;
  errors: number;
  /** Requests in flight when the second's last response came back. */
  inFlight: number;
}

export class RunRecorder {
  readonly overall = new LatencySeries();
  readonly byKind = new Map<InputKind, { latencies: LatencySeries; errors: number; faces: number }>();
  readonly errors = new Map<string, { count: number; example: string }>();
  /** Every second of the run, warm-up included (marked by its index). */
  readonly seconds: SecondBucket[] = [];
  faces = 0;

  constructor(private readonly startMs: number, readonly warmupEndMs: number) {}

  private second(atMs: number): SecondBucket {
    const index = Math.max(0, Math.floor((atMs - this.startMs) / 1000));
    while (this.seconds.length <= index) this.seconds.push({ latencies: new LatencySeries(SAMPLES_PER_SECOND), errors: 0, inFlight: 0 });
    return this.seconds[index]!;
  }

  private kind(kind: InputKind) {
    let entry = this.byKind.get(kind);
    if (!entry) this.byKind.set(kind, (entry = { latencies: new LatencySeries(), errors: 0, faces: 0 }));
    return entry;
  }

  /**
   * One finished request. `startMs` is when it started, or for the open loop
   * when it should have: that decides whether it counts (after the warm-up).
   */
  record(kind: InputKind, startMs: number, endMs: number, inFlight: number, outcome: { faces: number } | { errorKey: string; message: string }): void {
    const bucket = this.second(endMs);
    bucket.inFlight = inFlight;
    const latencyMs = endMs - startMs;
    if ('errorKey' in outcome) bucket.errors++;
    else bucket.latencies.add(latencyMs);
    if (startMs < this.warmupEndMs) return;
    const entry = this.kind(kind);
    if ('errorKey' in outcome) {
      entry.errors++;
      const seen = this.errors.get(outcome.errorKey);
      if (seen) seen.count++;
      else this.errors.set(outcome.errorKey, { count: 1, example: outcome.message });
    } else {
      this.overall.add(latencyMs);
      entry.latencies.add(latencyMs);
      entry.faces += outcome.faces;
      this.faces += outcome.faces;
    }
  }

  get measuredErrors(): number {
    let n = 0;
    for (const { count } of this.errors.values()) n += count;
    return n;
  }
}
