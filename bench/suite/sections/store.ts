/**
 * Store: the embedded gallery alone (bench:store), insert rate, start-up,
 * memory, search latency and recall at 10k and 100k synthetic faces. The
 * galleries are kept in the suite's scratch folder for the memory section.
 */
import { fixed, type Section } from '../section.js';
import { storeRoot } from '../shared-inputs.js';

/** One line of bench:store's output. */
interface StoreLine {
  readonly size: number;
  readonly insertPerS: number;
  readonly mode: string;
  readonly startupS: number;
  readonly storeRssMiB: number;
  readonly k1: { readonly p50Ms: number; readonly p99Ms: number; readonly recall1: number };
  readonly k10: { readonly p50Ms: number; readonly p99Ms: number; readonly recall10: number };
  readonly randomQueries: { readonly recall1: number; readonly recall10: number };
}

const faces = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`);

export const storeSection: Section = {
  name: 'store',
  title: 'Store',
  summary:
    'The embedded gallery on its own: insert rate through upsertFaces, start-up and memory of a fresh process reopening it, and search latency and recall against exact search, on synthetic 512-d faces (noisy copies of stored vectors as queries, plus uniform random ones, the worst case).',
  async run(ctx) {
    const args = ctx.quick ? ['--sizes', '10k', '--queries', '200'] : ['--sizes', '10k,100k', '--queries', '1000'];
    const stdout = await ctx.tsx('bench:store', 'bench/store.ts', [...args, '--keep', '--dir', storeRoot(ctx)], { timeoutS: 900 });
    const lines = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as StoreLine);
    if (lines.length === 0) throw new Error(`bench:store printed no results: ${stdout.slice(-300)}`);
    return {
      commands: [`npm run bench:store -- ${args.join(' ')}`],
      tables: [{
        headers: ['Faces', 'Search', 'Insert/s', 'Start-up s', 'Store RSS MiB', 'k=1 p50 / p99 ms', 'recall@1', 'k=10 p50 / p99 ms', 'recall@10', 'random queries recall@1 / @10'],
        rows: lines.map((l) => [
          faces(l.size), l.mode, String(l.insertPerS), fixed(l.startupS, 2), String(l.storeRssMiB),
          `${fixed(l.k1.p50Ms, 2)} / ${fixed(l.k1.p99Ms, 2)}`, fixed(l.k1.recall1, 3),
          `${fixed(l.k10.p50Ms, 2)} / ${fixed(l.k10.p99Ms, 2)}`, fixed(l.k10.recall10, 3),
          `${fixed(l.randomQueries.recall1, 2)} / ${fixed(l.randomQueries.recall10, 2)}`,
        ]),
      }],
      notes: [
        '1M faces is a separate, documented run of over an hour on 2 cores: `npm run bench:store -- --sizes 1m` (docs/store.md, "Benchmark").',
      ],
      data: lines,
    };
  },
};
