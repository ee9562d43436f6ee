/**
 * Against the ceiling: served Recognize throughput on one-face portraits
 * next to what the three models alone can do on the same portraits. The
 * ceiling is measured just before and just after the served run, so a
 * machine that got busier or quieter meanwhile shows as drift between the
 * two instead of hiding in the ratio.
 */
import type { CeilingResult } from '../../ceiling.js';
import { fixed, percent, plural, type Section } from '../section.js';
import { loadCommand, runLoad, withoutSeries, type LoadRun } from './load-run.js';

export const ceilingSection: Section = {
  name: 'ceiling',
  title: 'Against the ceiling',
  summary:
    'How close the served Recognize path (gRPC, server in its own process) comes to the model-only ceiling: the three bare ONNX Runtime sessions on the same 250×250 one-face portraits, with decode, image graphs, RPC and search left out.',
  async run(ctx) {
    const passes = ctx.quick ? '1' : '5';
    const ceilingArgs = ['--passes', passes, '--json'];
    const ceiling = async (when: string) => JSON.parse(await ctx.tsx(`bench:ceiling (${when})`, 'bench/ceiling.ts', ceilingArgs)) as CeilingResult;
    const [duration, warmup] = ctx.quick ? ['3', '1'] : ['20', '5'];
    const served16: LoadRun = { label: 'portraits c16', flags: ['--mix', 'portrait=1', '--concurrency', '16', '--duration', duration, '--warmup', warmup] };
    const served1: LoadRun = { label: 'portraits c1', flags: ['--mix', 'portrait=1', '--concurrency', '1', '--duration', duration, '--warmup', ctx.quick ? '1' : '3'] };

    const before = await ceiling('before');
    const at16 = await runLoad(ctx, served16);
    const after = await ceiling('after');
    const at1 = await runLoad(ctx, served1);

    const meanCeiling = (before.imagesPerS + after.imagesPerS) / 2;
    const ratio = at16.throughput.reqPerS / meanCeiling;
    const drift = after.imagesPerS / before.imagesPerS - 1;
    const servedRow = (name: string, r: typeof at16) => [name, fixed(r.throughput.reqPerS), fixed(r.latencyMs.p50Ms), fixed(r.latencyMs.p99Ms), String(r.requests.errors)];
    const ms = (c: CeilingResult) => `detector ${fixed(c.msPerImage.detector, 2)}, landmarks ${fixed(c.msPerImage.landmarks, 2)}, embedder ${fixed(c.msPerImage.embedder, 2)}`;
    return {
      commands: [`npm run bench:ceiling -- ${ceilingArgs.join(' ')}`, loadCommand(served16), loadCommand(served1)],
      tables: [
        {
          headers: ['Run', 'images/s', 'p50 ms', 'p99 ms', 'errors'],
          rows: [
            ['Model-only ceiling, before', fixed(before.imagesPerS), '', '', ''],
            servedRow('Served Recognize, concurrency 16', at16),
            ['Model-only ceiling, after', fixed(after.imagesPerS), '', '', ''],
            [`**Served / ceiling** (mean ceiling ${fixed(meanCeiling)})`, `**${fixed(ratio, 2)}**`, '', '', ''],
            servedRow('Served Recognize, concurrency 1', at1),
          ],
        },
      ],
      notes: [
        `Ceiling drift from before to after the served run: ${drift >= 0 ? '+' : ''}${percent(drift)}. ${before.images} portraits × ${plural(before.passes, 'pass', 'passes')}, ${before.faces} faces; ONNX Runtime with ${before.intraOpThreads ? plural(before.intraOpThreads, 'intra-op thread') : 'one intra-op thread per core'}; ms per image before: ${ms(before)}.`,
        `The served runs start their own server (default settings) and enrol four portraits, so each Recognize also searches a gallery; load average ${at16.machine.loadAvgStart[0]} → ${at16.machine.loadAvgEnd[0]} over the concurrency-16 run.`,
      ],
      data: { ceilingBefore: before, ceilingAfter: after, meanCeilingImagesPerS: meanCeiling, servedOverCeiling: ratio, drift, served16: withoutSeries(at16), served1: withoutSeries(at1) },
    };
  },
};

