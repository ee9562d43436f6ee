/**
 * Streams: how many cameras at a given frame rate one server keeps up with
 * (bench:stream, RecognizeStream with FRAME_POLICY_LATEST).
 */
import { fixed, percent, type Section } from '../section.js';

/** bench:stream --json. */
interface StreamReport {
  readonly seconds: number;
  readonly rows: ReadonlyArray<{
    readonly cameras: number;
    readonly fpsEach: number;
    readonly sent: number;
    readonly processed: number;
    readonly skipped: number;
    readonly skippedShare: number;
    readonly latencyP50Ms: number | null;
    readonly latencyP95Ms: number | null;
    readonly embeddingsPerFaceFrame: number;
    readonly sustained: boolean;
  }>;
}

export const streamsSection: Section = {
  name: 'streams',
  title: 'Streams',
  summary:
    'Simulated cameras each sending a 640×360 door video (one or two people walking through) over RecognizeStream with FRAME_POLICY_LATEST: frames the server processed or skipped because it was behind, and result latency. A setting is sustained when under 5 % of frames are skipped.',
  async run(ctx) {
    const args = ctx.quick ? ['--cameras', '2', '--fps', '10', '--seconds', '3'] : ['--cameras', '2,4,8', '--fps', '10', '--seconds', '10'];
    const report = JSON.parse(await ctx.tsx('bench:stream', 'bench/stream.ts', [...args, '--json'])) as StreamReport;
    return {
      commands: [`npm run bench:stream -- ${args.join(' ')}`],
      tables: [{
        headers: ['Cameras', 'fps each', 'sent', 'processed', 'skipped', 'latency p50 / p95 ms', 'embeddings per face-frame', 'sustained'],
        rows: report.rows.map((r) => [
          String(r.cameras), String(r.fpsEach), String(r.sent), String(r.processed), `${r.skipped} (${percent(r.skippedShare)})`,
          `${fixed(r.latencyP50Ms, 0)} / ${fixed(r.latencyP95Ms, 0)}`, percent(r.embeddingsPerFaceFrame), r.sustained ? 'yes' : '**no**',
        ]),
      }],
      notes: [
        `${report.seconds} s per setting, the server in the benchmark's own process. Tracking re-embeds a face only when its track needs it, so fewer embeddings than face-frames is the design, not loss.`,
      ],
      data: report,
    };
  },
};
