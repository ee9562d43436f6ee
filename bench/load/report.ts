/**
 * A run's report: one object (written as JSON), a short table for the
 * terminal, and three CSV files in the manner of locust's --csv: the
 * figures per input kind plus an `all` row, one row per second of the run
 * (warm-up seconds marked), and the failures by key with one example
 * message each.
 */
import { cpus, loadavg } from 'node:os';
import { INPUT_KINDS, type InputKind } from './inputs.js';
import type { LoadMode } from './options.js';
import { round, type LatencySummary } from './recorder.js';
import type { RunResult } from './drivers.js';

export interface RunContext {
  readonly target: string;
  readonly protocol: string;
  readonly selfStarted: boolean;
  readonly mode: LoadMode;
  readonly mix: Readonly<Record<InputKind, number>>;
  readonly inputs: Readonly<Record<InputKind, number>>;
  readonly warmupS: number;
  readonly durationS: number;
  readonly requests?: number;
  readonly startedAt: Date;
  readonly loadAvgStart: readonly number[];
}

export interface KindFigures {
  readonly requests: number;
  readonly errors: number;
  readonly faces: number;
  readonly reqPerS: number;
  readonly latencyMs: LatencySummary;
}

export function buildReport(context: RunContext, run: RunResult) {
  const { recorder, measuredS } = run;
  const perS = (n: number) => (measuredS > 0 ? round(n / measuredS) : 0);
  const byKind: Partial<Record<InputKind, KindFigures>> = {};
  for (const kind of INPUT_KINDS) {
    const entry = recorder.byKind.get(kind);
    if (!entry) continue;
    const latencyMs = entry.latencies.summary();
    byKind[kind] = { requests: latencyMs.count + entry.errors, errors: entry.errors, faces: entry.faces, reqPerS: perS(latencyMs.count), latencyMs };
  }
  const latencyMs = recorder.overall.summary();
  const warmupSeconds = Math.ceil(context.warmupS);
  return {
    tool: 'facerec bench:load',
    startedAt: context.startedAt.toISOString(),
    target: context.target,
    protocol: context.protocol,
    selfStarted: context.selfStarted,
    mode: context.mode,
    mix: context.mix,
    inputs: context.inputs,
    warmupS: context.warmupS,
    durationS: context.durationS,
    requestsLimit: context.requests ?? null,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', node: process.version, loadAvgStart: context.loadAvgStart, loadAvgEnd: loadavg().map((v) => round(v)) },
    measuredS: round(measuredS, 3),
    requests: { sent: run.sent, ok: latencyMs.count, errors: recorder.measuredErrors, unsent: run.unsent },
    throughput: { reqPerS: perS(latencyMs.count), facesPerS: perS(recorder.faces) },
    latencyMs,
    byKind,
    errors: Object.fromEntries(recorder.errors),
    timeSeries: recorder.seconds.map((bucket, second) => {
      const s = bucket.latencies.summary();
      return { second, phase: second < warmupSeconds ? 'warmup' : 'measure', requests: s.count + bucket.errors, errors: bucket.errors, p50Ms: s.p50Ms, p90Ms: s.p90Ms, p99Ms: s.p99Ms, maxMs: s.maxMs, inFlight: bucket.inFlight };
    }),
  };
}

export type LoadReport = ReturnType<typeof buildReport>;

export function summaryText(report: LoadReport): string {
  const mode = report.mode.kind === 'closed' ? `closed loop, concurrency ${report.mode.concurrency}` : `open loop, ${report.mode.ratePerS} req/s (at most ${report.mode.maxInFlight} in flight)`;
  const row = (name: string, requests: number, errors: number, reqPerS: number, l: LatencySummary) =>
    [name.padEnd(9), requests, errors, reqPerS, l.p50Ms, l.p90Ms, l.p99Ms, l.maxMs].map((v, i) => (i === 0 ? v : String(v).padStart(9))).join('');
  const lines = [
    `${report.target}, ${mode}, ${report.measuredS} s measured after ${report.warmupS} s warm-up`,
    '',
    `${'kind'.padEnd(9)}${['requests', 'errors', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'].map((h) => h.padStart(9)).join('')}`,
    ...Object.entries(report.byKind).map(([kind, k]) => row(kind, k.requests, k.errors, k.reqPerS, k.latencyMs)),
    row('all', report.requests.ok + report.requests.errors, report.requests.errors, report.throughput.reqPerS, report.latencyMs),
    '',
    `throughput ${report.throughput.reqPerS} req/s, ${report.throughput.facesPerS} faces/s`,
  ];
  if (report.requests.unsent > 0) lines.push(`${report.requests.unsent} requests due were never sent: the server fell behind the rate by more than --max-in-flight`);
  const errors = Object.entries(report.errors);
  lines.push(errors.length === 0 ? 'errors: none' : `errors: ${errors.map(([key, e]) => `${key} ×${e.count} (${e.example})`).join('; ')}`);
  lines.push(`load average ${report.machine.loadAvgStart.join(' ')} → ${report.machine.loadAvgEnd.join(' ')} on ${report.machine.cpus} CPUs`);
  return lines.join('\n');
}

function csv(rows: readonly (readonly (string | number)[])[]): string {
  const cell = (v: string | number) => (typeof v === 'number' || !/[",\n]/.test(v) ? String(v) : `"${v.replaceAll('"', '""')}"`);
  return rows.map((r) => r.map(cell).join(',')).join('\n') + '\n';
}

/** The three CSV files' contents, by file-name suffix. */
export function csvFiles(report: LoadReport): Record<'stats' | 'stats_history' | 'failures', string> {
  const latency = (l: LatencySummary) => [l.meanMs, l.p50Ms, l.p90Ms, l.p99Ms, l.maxMs];
  const kinds = Object.entries(report.byKind).map(([kind, k]) => [kind, k.requests, k.errors, k.faces, k.reqPerS, ...latency(k.latencyMs)]);
  const all = ['all', report.requests.ok + report.requests.errors, report.requests.errors, Object.values(report.byKind).reduce((n, k) => n + k.faces, 0), report.throughput.reqPerS, ...latency(report.latencyMs)];
  return {
    stats: csv([['kind', 'requests', 'errors', 'faces', 'req_per_s', 'mean_ms', 'p50_ms', 'p90_ms', 'p99_ms', 'max_ms'], ...kinds, all]),
    stats_history: csv([
      ['second', 'phase', 'requests', 'errors', 'p50_ms', 'p90_ms', 'p99_ms', 'max_ms', 'in_flight'],
      ...report.timeSeries.map((s) => [s.second, s.phase, s.requests, s.errors, s.p50Ms, s.p90Ms, s.p99Ms, s.maxMs, s.inFlight]),
    ]),
    failures: csv([['error', 'count', 'example'], ...Object.entries(report.errors).map(([key, e]) => [key, e.count, e.example])]),
  };
}
