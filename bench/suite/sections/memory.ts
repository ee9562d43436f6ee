/**
 * Memory: one compiled server's resident memory idle and under Recognize
 * load (bench:footprint), first on an empty gallery, then on a gallery of
 * synthetic faces (the store section's, or one built for this section).
 */
import { fixed, type Section } from '../section.js';
import { compiled, gallery } from '../shared-inputs.js';

/** bench:footprint's JSON. */
interface Footprint {
  readonly settings: { readonly inferenceWorkers: number; readonly concurrency: number; readonly loadSeconds: number };
  readonly idleRssMiB: number;
  readonly loadRssMiB: number;
  readonly peakRssMiB: number;
  readonly recognizeCalls: number;
  readonly failures: number;
  readonly callsPerSecond: number;
  readonly cpuCoresBusy: number;
}

const CONCURRENCY = '8';
const WORKERS = '2';

export const memorySection: Section = {
  name: 'memory',
  title: 'Memory',
  summary:
    'Resident memory (RSS) of one compiled server on the embedded store: idle after start-up, and while it answers Recognize calls on the group photos, on an empty gallery and on one holding synthetic faces.',
  async run(ctx) {
    const size = ctx.quick ? 10_000 : 100_000;
    const sizeName = `${size / 1000}k`;
    const [emptySeconds, gallerySeconds] = ctx.quick ? ['3', '3'] : ['20', '10'];
    const flags = (seconds: string) => ['--seconds', seconds, '--concurrency', CONCURRENCY, '--workers', WORKERS];
    await compiled(ctx);
    const footprint = async (label: string, args: readonly string[]) => JSON.parse(await ctx.tsx(`bench:footprint (${label})`, 'bench/footprint.ts', args)) as Footprint;

    const empty = await footprint('empty gallery', flags(emptySeconds));
    const dataDir = await gallery(ctx, size);
    const full = await footprint(`${sizeName} faces`, [...flags(gallerySeconds), '--data-dir', dataDir]);

    const row = (name: string, f: Footprint) => [name, String(f.idleRssMiB), String(f.loadRssMiB), String(f.peakRssMiB), fixed(f.callsPerSecond), fixed(f.cpuCoresBusy, 2)];
    return {
      commands: [
        `npm run bench:footprint -- ${flags(emptySeconds).join(' ')}`,
        `npm run bench:store -- --sizes ${sizeName} --queries 100 --keep --dir <store>`,
        `npm run bench:footprint -- ${flags(gallerySeconds).join(' ')} --data-dir <store>/n${size}`,
      ],
      tables: [{
        headers: ['Gallery', 'idle RSS MiB', 'RSS under load MiB', 'peak RSS MiB', 'Recognize calls/s', 'cores busy'],
        rows: [row('empty', empty), row(`${sizeName} faces (512-d)`, full)],
      }],
      notes: [
        `Under load: ${CONCURRENCY} Recognize calls in flight on the 1920 px group photos for ${emptySeconds} s (empty) and ${gallerySeconds} s (${sizeName}), ${WORKERS} inference workers; RSS sampled every 200 ms from /proc. The gallery holds bench:store's synthetic faces, the same kind of vectors the Store section searches; ${empty.failures + full.failures} failed calls.`,
      ],
      data: { empty, gallery: { faces: size, ...full } },
    };
  },
};
