/**
 * Batching on vs off: bench:batching's two servers (schema defaults, and
 * every model's batch size 1) under the same closed-loop Recognize load.
 */
import { fixed, type Section } from '../section.js';

interface BatchingPoint {
  readonly batching: 'on' | 'off';
  readonly concurrency: number;
  readonly requests: number;
  readonly errors: number;
  readonly reqPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanBatchSize: Readonly<Record<'detector' | 'landmarks' | 'embedder', number>>;
}

interface BatchingReport {
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly points: readonly BatchingPoint[];
  readonly checks: {
    readonly throughput: { readonly concurrency: number; readonly onOverOff: number | null; readonly min: number; readonly pass: boolean };
    readonly latency: { readonly p50OnMinusOffMs: number | null; readonly maxMs: number; readonly pass: boolean };
  };
}

export const batchingSection: Section = {
  name: 'batching',
  title: 'Batching on vs off',
  summary:
    'What dynamic micro-batching buys: closed-loop Recognize over gRPC on 640×480 one-face JPEGs against a server with the default batching and one with every batch size set to 1, at each concurrency.',
  async run(ctx) {
    const args = ctx.quick ? ['--quick', '--concurrency', '1,16'] : [];
    const report = JSON.parse(await ctx.tsx('bench:batching', 'bench/batching.ts', [...args, '--json'])) as BatchingReport;
    const at = (batching: 'on' | 'off', c: number) => report.points.find((p) => p.batching === batching && p.concurrency === c);
    const concurrencies = [...new Set(report.points.map((p) => p.concurrency))];
    const rows = concurrencies.map((c) => {
      const on = at('on', c);
      const off = at('off', c);
      const b = on?.meanBatchSize;
      return [
        String(c),
        fixed(on?.reqPerS), fixed(off?.reqPerS),
        on && off && off.reqPerS > 0 ? fixed(on.reqPerS / off.reqPerS, 2) : '–',
        fixed(on?.p50Ms), fixed(off?.p50Ms), fixed(on?.p99Ms), fixed(off?.p99Ms),
        b ? `${fixed(b.detector, 1)} / ${fixed(b.landmarks, 1)} / ${fixed(b.embedder, 1)}` : '–',
      ];
    });
    const { throughput, latency } = report.checks;
    const errors = report.points.reduce((n, p) => n + p.errors, 0);
    return {
      commands: [`npm run bench:batching -- ${[...args, '--json'].join(' ')}`],
      tables: [{
        headers: ['Concurrency', 'ON req/s', 'OFF req/s', 'ON / OFF', 'ON p50 ms', 'OFF p50 ms', 'ON p99 ms', 'OFF p99 ms', 'ON mean batch det / lmk / emb'],
        rows,
      }],
      notes: [
        `Each point: ${report.warmupMs / 1000} s warm-up, then ${report.durationMs / 1000} s measured; ${errors} failed calls in all. Mean batch sizes come from the server's facerec_batch_size histogram.`,
        `bench:batching's own checks: ON / OFF at concurrency ${throughput.concurrency} = ${throughput.onOverOff ?? '–'} (wants ≥ ${throughput.min}: ${throughput.pass ? 'pass' : 'fail'}); p50 ON − OFF at concurrency 1 = ${latency.p50OnMinusOffMs ?? '–'} ms (wants ≤ ${latency.maxMs} ms: ${latency.pass ? 'pass' : 'fail'}).`,
      ],
      data: report,
    };
  },
};
