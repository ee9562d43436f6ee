/**
 * The model-only ceiling: how many images per second the three models alone
 * can do on this machine, the yardstick served throughput is measured
 * against.
 *
 * Each image goes through the real pipeline once, with every model input
 * kept; then the bare ONNX Runtime sessions run those inputs again, timed:
 * the detector one image at a time, landmarks and embedder in batches of 8,
 * one run at a time, on `intraOpThreads` threads. Decode, resize, the
 * crop and warp graphs, RPC and search are left out: they are the server's
 * own work, which is what the ratio served / ceiling shows.
 *
 *   npm run bench:ceiling -- [--passes N] [--portraits N | --images DIR] [--threads N] [--json]
 *
 * --threads sets the intra-op threads (default 0: one per core, the
 * yardstick); --threads 1 shows what one run costs on one core. --images
 * measures the files of a folder instead: the peers section uses it for
 * what the models alone allow on its files.
 *
 * measureCeiling is also what `npm run bench` calls before and after its
 * served run.
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { UsageError, type FlagOptions } from '../src/cli/command.js';
import { loadConfig } from '../src/config/load.js';
import { createFacePipeline } from '../src/pipeline/pipeline.js';
import { closePipelineSessions, directRunners, openPipelineSessions } from '../src/pipeline/models.js';
import type { InferenceSession, InputBatch } from '../src/pipeline/session.js';
import { portraits } from './load/inputs.js';
import { folderImages, groupPhotos } from './pipeline-inputs.js';
import { TimedSession } from './pipeline-timing.js';
import { numberFlag, parseBenchArgs } from './cli.js';

/** The batch size of landmarks and embedder in the ceiling. */
export const CEILING_BATCH = 8;

export interface CeilingResult {
  readonly images: number;
  readonly faces: number;
  readonly passes: number;
  readonly intraOpThreads: number;
  /** Landmarks and embedder run in batches of this many faces. */
  readonly batchSize: number;
  /** Model-only images per second. */
  readonly imagesPerS: number;
  /** ms per image in each model, batch runs divided by the images. */
  readonly msPerImage: Readonly<Record<'detector' | 'landmarks' | 'embedder', number>>;
}

export interface CeilingOptions {
  readonly passes: number;
  /** ONNX Runtime intra-op threads; default one per core (the yardstick: every core on one run). */
  readonly intraOpThreads?: number;
  readonly modelsDir?: string;
}

/** The items of one model's recorded runs, regrouped into batches of `size`. */
function rebatch(session: InferenceSession, items: readonly Uint8Array[], size: number): InputBatch[] {
  const itemBytes = session.itemDims.reduce((a, b) => a * b, 1);
  const batches: InputBatch[] = [];
  for (let start = 0; start < items.length; start += size) {
    const chunk = items.slice(start, start + size);
    const data = new Uint8Array(chunk.length * itemBytes);
    chunk.forEach((item, i) => data.set(item, i * itemBytes));
    batches.push({ data, dims: [chunk.length, ...session.itemDims] });
  }
  return batches;
}

/** Splits a recorded batch back into its items. */
function itemsOf(session: InferenceSession, batch: InputBatch): Uint8Array[] {
  const itemBytes = session.itemDims.reduce((a, b) => a * b, 1);
  return Array.from({ length: batch.dims[0]! }, (_, i) => batch.data.subarray(i * itemBytes, (i + 1) * itemBytes));
}

export async function measureCeiling(images: readonly Uint8Array[], options: CeilingOptions): Promise<CeilingResult> {
  const config = loadConfig({ env: {} });
  const intraOpThreads = options.intraOpThreads ?? 0;
  const raw = await openPipelineSessions({ modelsDir: options.modelsDir ?? config.pipeline.modelsDir, intraOpThreads });
  try {
    const timed = { detector: new TimedSession(raw.detector), landmarks: new TimedSession(raw.landmarks), embedder: new TimedSession(raw.embedder) };
    const pipeline = createFacePipeline({ runners: directRunners(timed, raw.imageOps), settings: config.pipeline });
    for (const session of Object.values(timed)) session.recording = true;
    let faces = 0;
    for (const image of images) faces += (await pipeline.analyze(image)).faces.length;
    const batchesOf = (model: keyof typeof timed, size: number) =>
      rebatch(raw[model], timed[model].runs.flatMap((run) => itemsOf(raw[model], run.batch)), size);
    const work = {
      detector: batchesOf('detector', 1),
      landmarks: batchesOf('landmarks', CEILING_BATCH),
      embedder: batchesOf('embedder', CEILING_BATCH),
    };
    const timeModel = async (model: keyof typeof work) => {
      const start = performance.now();
      for (const batch of work[model]) await raw[model].run(batch);
      return performance.now() - start;
    };
    // One untimed pass: ORT allocates its buffers for each batch shape on first use.
    for (const model of ['detector', 'landmarks', 'embedder'] as const) await timeModel(model);
    const totals = { detector: 0, landmarks: 0, embedder: 0 };
    for (let pass = 0; pass < options.passes; pass++) {
      for (const model of ['detector', 'landmarks', 'embedder'] as const) totals[model] += await timeModel(model);
    }
    const perImage = (ms: number) => ms / (images.length * options.passes);
    const totalMs = totals.detector + totals.landmarks + totals.embedder;
    return {
      images: images.length,
      faces,
      passes: options.passes,
      intraOpThreads,
      batchSize: CEILING_BATCH,
      imagesPerS: (images.length * options.passes * 1000) / totalMs,
      msPerImage: { detector: perImage(totals.detector), landmarks: perImage(totals.landmarks), embedder: perImage(totals.embedder) },
    };
  } finally {
    await closePipelineSessions(raw);
  }
}

/** Portraits cut with a direct pipeline's detector, for a run without a server. */
export async function portraitsWithoutServer(count: number): Promise<Uint8Array[]> {
  const config = loadConfig({ env: {} });
  const sessions = await openPipelineSessions({ modelsDir: config.pipeline.modelsDir });
  try {
    const pipeline = createFacePipeline({ runners: directRunners(sessions, sessions.imageOps), settings: config.pipeline });
    const detector = {
      async detect(bytes: Buffer) {
        const found = await pipeline.analyze(bytes, { embed: false });
        return { width: found.width, height: found.height, boxes: found.faces.map((f) => f.box) };
      },
    };
    return (await portraits(detector, groupPhotos(), count)).map((p) => p.bytes);
  } finally {
    await closePipelineSessions(sessions);
  }
}

const CEILING_OPTIONS = {
  passes: { type: 'string', default: '5', valueName: 'n', description: 'timed passes over the recorded model inputs' },
  portraits: { type: 'string', default: '16', valueName: 'n', description: '250×250 one-face portraits to cut from the test photos' },
  images: { type: 'string', valueName: 'dir', description: 'the image files of this folder instead of portraits (e.g. the peers section\'s group photos and portraits)' },
  threads: { type: 'string', default: '0', valueName: 'n', description: 'ONNX Runtime intra-op threads; 0 is one per core, the yardstick' },
  json: { type: 'boolean', default: false, description: 'print the result as JSON' },
} as const satisfies FlagOptions;

/** The image files of `--images`, or a usage error naming the folder. */
function imagesOf(dir: string): Uint8Array[] {
  if (!existsSync(dir)) throw new UsageError(`--images ${dir}: no such folder`);
  try {
    return folderImages(dir).map((image) => image.bytes);
  } catch (error) {
    throw new UsageError(`--images ${dir}: ${(error as Error).message}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const cli = { script: 'bench:ceiling', summary: 'The model-only ceiling: the three bare ONNX Runtime sessions on model inputs recorded from the pipeline, one run at a time.' };
  const { values, files, portraits, passes, threads } = parseBenchArgs(cli, CEILING_OPTIONS, (v) => ({
    values: v,
    files: v.images === undefined ? undefined : imagesOf(v.images),
    portraits: numberFlag('portraits', v.portraits, 1, 1000, true),
    passes: numberFlag('passes', v.passes, 1, 1000, true),
    threads: numberFlag('threads', v.threads, 0, 256, true),
  }));
  const images = files ?? (await portraitsWithoutServer(portraits));
  const result = await measureCeiling(images, { passes, intraOpThreads: threads });
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else {
    const ms = Object.entries(result.msPerImage).map(([m, v]) => `${m} ${v.toFixed(2)}`).join(', ');
    const what = values.images === undefined ? 'portraits' : `images of ${values.images}`;
    console.log(`${result.images} ${what} × ${result.passes} passes: ${result.imagesPerS.toFixed(1)} images/s model-only (ms per image: ${ms}; load ${loadavg()[0]!.toFixed(2)})`);
  }
}
