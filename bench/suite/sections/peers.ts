/**
 * Against peers: the same image files through the Node face libraries a
 * TypeScript user would otherwise pick (bench/peers, a package of its own)
 * and through a facerec server, plus accuracy on the evaluation set.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { CeilingResult } from '../../ceiling.js';
import { fixed, type Section, type SuiteContext } from '../section.js';
import { imageSets } from '../shared-inputs.js';
import { loadCommand, runLoad, withoutSeries, type LoadRun } from './load-run.js';

/** Worker threads per peer library, and facerec's inference workers to match. */
const WORKERS = 2;
/** Closed-loop requests in flight against facerec: enough to keep both workers busy. */
const FACEREC_CONCURRENCY = 8;

/** bench/peers/run.ts --json (see bench/peers/README.md). */
interface PeerLibrary {
  readonly library: string;
  readonly version: string;
  readonly backend: string;
  readonly workers: number;
  readonly images: number;
  readonly faces: number;
  readonly imagesPerS: number;
  readonly facesPerS: number;
  readonly eval?: {
    readonly verificationAccuracy: number;
    readonly threshold: number;
    /** How pairs were scored: cosine similarity, or euclidean distance (smaller is closer). */
    readonly metric?: string;
    readonly rankOne: { readonly correct: number; readonly total: number };
    readonly undetected: number | readonly string[];
  };
}

/** The part of `npm run eval -- --json` this section shows. */
interface FacerecEval {
  readonly best: { readonly accuracy: number; readonly threshold: number };
  readonly rankOne: { readonly correct: number; readonly total: number };
  readonly undetected: readonly string[];
}

const count = (u: number | readonly string[]) => (typeof u === 'number' ? u : u.length);
const accuracy = (a: number | undefined) => (a === undefined ? '–' : `${(100 * a).toFixed(1)} %`);

/** "face-api: euclidean distance ≤ 0.512", the rule each library's best threshold stands for. */
function thresholdRules(peers: readonly PeerLibrary[], facerec: FacerecEval | undefined): string {
  const rules = peers.flatMap((p) => {
    if (!p.eval) return [];
    const distance = p.eval.metric?.includes('euclidean') ?? false;
    return [`${p.library}: ${distance ? 'euclidean distance ≤' : 'cosine ≥'} ${p.eval.threshold.toFixed(3)}`];
  });
  if (facerec) rules.push(`facerec: cosine ≥ ${facerec.best.threshold.toFixed(3)}`);
  return rules.join('; ');
}

function whyNotRunnable(ctx: SuiteContext): string | undefined {
  if (!existsSync(join(ctx.root, 'bench/peers/run.ts'))) return 'bench/peers/run.ts is not in this checkout.';
  if (!existsSync(join(ctx.root, 'bench/peers/node_modules'))) {
    return 'bench/peers is not installed. Install it once with `npm ci --prefix bench/peers` (it keeps the peer libraries out of the main install), then run `npm run bench -- --only peers`.';
  }
  return undefined;
}

export const peersSection: Section = {
  name: 'peers',
  title: 'Against peers',
  summary:
    'The same image files (group photos and one-face portraits) through @vladmandic/face-api and @vladmandic/human on the tfjs wasm backend, each in worker threads, and through a facerec server; accuracy from each on the evaluation set.',
  async run(ctx) {
    const evalShown = relative(ctx.root, ctx.evalDir) || '.';
    const withEval = !ctx.quick && existsSync(ctx.evalDir);
    const [duration, warmup] = ctx.quick ? ['3', '1'] : ['20', '5'];
    const facerecRun: LoadRun = {
      label: 'peer images c8',
      flags: ['--images', '<images>/peers', '--concurrency', String(FACEREC_CONCURRENCY), '--duration', duration, '--warmup', warmup],
      env: { FACEREC_PIPELINE__INFERENCE_WORKERS: String(WORKERS) },
    };
    const ceilingFlags = ['--passes', ctx.quick ? '1' : '3', '--json'];
    const imageCounts = ctx.quick ? '--group 2 --portraits 4 --small 4' : '--group 6 --portraits 16 --small 12';
    const peersFlags = `--images <images>/peers --workers ${WORKERS}${withEval ? ` --eval ${evalShown}` : ''} --json peers.json`;
    const commands = [
      'npm ci --prefix bench/peers   # once',
      `npx tsx bench/suite/write-images.ts --out <images> ${imageCounts}`,
      `npx tsx bench/peers/run.ts ${peersFlags}`,
      loadCommand(facerecRun),
      `npm run bench:ceiling -- --images <images>/peers ${ceilingFlags.join(' ')}`,
      ...(withEval ? [`npm run eval -- ${evalShown} --json`] : []),
    ];
    const notRunnable = whyNotRunnable(ctx);
    if (notRunnable) return { commands, tables: [], skipped: notRunnable };

    const images = await imageSets(ctx);
    const peersJson = join(ctx.tmpDir, 'peers.json');
    const peerArgs = ['--images', images.peersDir, '--workers', String(WORKERS), '--json', peersJson, ...(withEval ? ['--eval', ctx.evalDir] : [])];
    await ctx.tsx('bench/peers/run.ts', 'bench/peers/run.ts', peerArgs);
    const peers = (JSON.parse(readFileSync(peersJson, 'utf8')) as { libraries: PeerLibrary[] }).libraries;
    const served = await runLoad(ctx, { ...facerecRun, flags: facerecRun.flags.map((f) => (f === '<images>/peers' ? images.peersDir : f)) });
    const modelsOnly = JSON.parse(await ctx.tsx('bench:ceiling (peer images)', 'bench/ceiling.ts', ['--images', images.peersDir, ...ceilingFlags])) as CeilingResult;
    const modelsOnlyFacesPerS = (modelsOnly.imagesPerS * modelsOnly.faces) / modelsOnly.images;
    const facerecEval = withEval ? (JSON.parse(await ctx.tsx('npm run eval', 'src/cli/eval.ts', [ctx.evalDir, '--json'])) as FacerecEval) : undefined;

    const rows = peers.map((p) => [
      `${p.library} ${p.version}`, p.backend, String(p.workers), fixed(p.imagesPerS), fixed(p.facesPerS),
      accuracy(p.eval?.verificationAccuracy), p.eval ? `${p.eval.rankOne.correct}/${p.eval.rankOne.total}` : '–', p.eval ? String(count(p.eval.undetected)) : '–',
    ]);
    rows.push([
      '**facerec** (served, gRPC)', 'onnxruntime-node, CPU', String(WORKERS), fixed(served.throughput.reqPerS), fixed(served.throughput.facesPerS),
      accuracy(facerecEval?.best.accuracy), facerecEval ? `${facerecEval.rankOne.correct}/${facerecEval.rankOne.total}` : '–', facerecEval ? String(facerecEval.undetected.length) : '–',
    ]);
    rows.push(['facerec models only (no decode, RPC or search)', 'onnxruntime-node, CPU', 'all cores', fixed(modelsOnly.imagesPerS), fixed(modelsOnlyFacesPerS), '', '', '']);
    const fastest = [...peers].sort((a, b) => b.imagesPerS - a.imagesPerS)[0];
    if (fastest) {
      rows.push([`facerec / fastest peer (${fastest.library})`, '', '', `**${fixed(served.throughput.reqPerS / fastest.imagesPerS, 2)}×**`, `${fixed(served.throughput.facesPerS / fastest.facesPerS, 2)}×`, '', '', '']);
      rows.push([`facerec models only / fastest peer`, '', '', `${fixed(modelsOnly.imagesPerS / fastest.imagesPerS, 2)}×`, `${fixed(modelsOnlyFacesPerS / fastest.facesPerS, 2)}×`, '', '', '']);
    }
    return {
      commands,
      tables: [{ headers: ['Library', 'Backend', 'Workers', 'images/s', 'faces/s', 'Verification accuracy', 'Rank-1', 'Crops without a face'], rows }],
      notes: [
        `Images: ${images.peers} files (${served.inputs.group} group photos, ${served.inputs.portrait} one-face portraits${served.inputs.noface ? `, ${served.inputs.noface} where facerec found no face` : ''}), the same files for every library. The peers time the whole set after a warm-up image per worker; facerec is a served closed-loop run at concurrency ${FACEREC_CONCURRENCY} over them (each file equally often, ${duration} s after ${warmup} s warm-up; server in its own process with ${WORKERS} inference workers, search included), ${served.requests.errors} errors.`,
        `The models-only row is \`bench:ceiling\` on the same files: each image through the pipeline once to record the three models' inputs, then those inputs run again, timed, one model run at a time on every core (landmarks and embedder in batches of ${modelsOnly.batchSize}); decode, resize, the crop and warp graphs, RPC and search are left out. It is what the models alone allow on this mix, the ceiling section's yardstick: a served rate is that minus the server's own work (docs/performance.md).`,
        withEval
          ? `Accuracy on ${evalShown}: best-threshold verification over all pairs (${thresholdRules(peers, facerecEval)}) and leave-one-out rank-1 (src/cli/eval-metrics.ts for all three). facerec's \`npm run eval\` leaves crops without a face out of the pairs and of rank-1 (its rank-1 total is the crops with a face); bench/peers counts them as errors.`
          : ctx.quick ? 'Accuracy is left out of --quick runs.' : `No evaluation set at ${evalShown}: accuracy left out (give one with --eval).`,
      ],
      data: {
        peers,
        facerec: { served: withoutSeries(served), modelsOnly, eval: facerecEval ? { best: facerecEval.best, rankOne: facerecEval.rankOne, undetected: facerecEval.undetected } : null },
        images: { files: images.peers },
      },
    };
  },
};
