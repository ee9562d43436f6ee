/**
 * Latency of one 640×480 one-face JPEG: p50 and p99 as a gRPC client sees
 * them at concurrency 1 (a served run over files cut as bench:pipeline cuts
 * them), and where the time goes, from bench:pipeline's per-stage timing
 * of the same kind of image in one process.
 */
import { fixed, percent, plural, type Section } from '../section.js';
import { imageSets } from '../shared-inputs.js';
import { loadCommand, runLoad, withoutSeries, type LoadRun } from './load-run.js';

const STAGES = ['decode', 'detect', 'landmarks', 'align', 'embed'] as const;

/** The part of bench:pipeline --json this section reads. */
interface PipelineReport {
  readonly settings: { readonly passes: number };
  readonly results: ReadonlyArray<{
    readonly set: string;
    readonly imageCount: number;
    readonly sequential: {
      readonly images: number;
      readonly stages: Readonly<Record<(typeof STAGES)[number], { readonly meanMs: number; readonly p50Ms: number }>>;
      readonly perImage: { readonly meanMs: number; readonly p50Ms: number };
    };
  }>;
}

export const latencySection: Section = {
  name: 'latency',
  title: 'Latency',
  summary:
    'The time to answer one 640×480 one-face JPEG on an otherwise idle server: Recognize over gRPC at concurrency 1 (served, search included), and the share of each pipeline stage, timed in one process by bench:pipeline.',
  async run(ctx) {
    const [duration, warmup] = ctx.quick ? ['3', '1'] : ['20', '3'];
    const served: LoadRun = { label: 'small c1', flags: ['--images', '<images>/small', '--concurrency', '1', '--duration', duration, '--warmup', warmup] };
    const pipelineArgs = ctx.quick ? ['--quick', '--json'] : ['--passes', '3', '--json'];
    const images = await imageSets(ctx);
    const report = await runLoad(ctx, { ...served, flags: served.flags.map((f) => (f === '<images>/small' ? images.smallDir : f)) });
    const pipeline = JSON.parse(await ctx.tsx('bench:pipeline', 'bench/pipeline.ts', pipelineArgs)) as PipelineReport;
    const small = pipeline.results.find((r) => r.set.startsWith('640x480'));
    if (!small) throw new Error('bench:pipeline reported no 640×480 set');

    const l = report.latencyMs;
    const whole = small.sequential.perImage.meanMs;
    const stageSum = STAGES.reduce((sum, s) => sum + small.sequential.stages[s].meanMs, 0);
    const stageRows = STAGES.map((s) => [s, fixed(small.sequential.stages[s].meanMs, 2), fixed(small.sequential.stages[s].p50Ms, 2), percent(small.sequential.stages[s].meanMs / whole)]);
    return {
      commands: [
        `npx tsx bench/suite/write-images.ts --out <images> --small ${images.small}`,
        loadCommand(served),
        `npm run bench:pipeline -- ${pipelineArgs.join(' ')}`,
      ],
      tables: [
        {
          caption: 'Served, concurrency 1',
          headers: ['Images', 'requests', 'p50 ms', 'p90 ms', 'p99 ms', 'mean ms', 'errors'],
          rows: [[`${images.small} × 640×480 one-face JPEG`, String(l.count), fixed(l.p50Ms), fixed(l.p90Ms), fixed(l.p99Ms), fixed(l.meanMs), String(report.requests.errors)]],
        },
        {
          caption: 'Where the time goes (one process, sequential, no RPC or search)',
          headers: ['Stage', 'mean ms', 'p50 ms', 'share of the image'],
          rows: [
            ...stageRows,
            ['between stages', fixed(whole - stageSum, 2), '', percent((whole - stageSum) / whole)],
            ['**whole image**', fixed(whole, 2), fixed(small.sequential.perImage.p50Ms, 2), '100 %'],
          ],
        },
      ],
      notes: [
        `The served figures include gRPC, the batcher's queue delay and the gallery search that the stage table leaves out: served p50 ${fixed(l.p50Ms)} ms against ${fixed(small.sequential.perImage.p50Ms)} ms in one process. Stage times: ${small.imageCount} images × ${plural(pipeline.settings.passes, 'pass', 'passes')}; "between stages" is the rest of the image's time (scheduling, copies).`,
      ],
      data: { served: withoutSeries(report), pipeline: small },
    };
  },
};
