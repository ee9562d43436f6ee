/**
 * End-to-end pipeline speed against ONNX Runtime alone.
 *
 * For 640×480 one-face JPEGs and the 1920 px group photos it measures
 *   - per-stage time per image (decode, detect, landmarks, align, embed),
 *   - images/s and faces/s for sequential requests (direct runners) and for
 *     N concurrent requests through batched runners, as the server runs,
 *   - the time ONNX Runtime alone needs for the very same model inputs (each
 *     run's input is kept and replayed on the bare session afterwards),
 * and checks the target: time outside ORT ≤ 20% of ORT time.
 *
 * Usage: npm run bench:pipeline -- [--quick] [--json] [--passes N] [--concurrency N] [--small N]
 * Settings come from loadConfig (FACEREC_* env), as in the server.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { loadConfig } from '../src/config/load.js';
import { createBatchedRunner } from '../src/batching/index.js';
import { createFacePipeline, type FacePipeline, type PipelineInstrumentation } from '../src/pipeline/pipeline.js';
import { closePipelineSessions, directRunners, openPipelineSessions } from '../src/pipeline/models.js';
import { inputMaker } from '../src/pipeline/image-ops.js';
import { groupPhotos, oneFaceImages, type BenchImage } from './pipeline-inputs.js';
import { numberFlag, parseBenchArgs } from './cli.js';
import { STAGES, StageRecorder, TimedImageOps, TimedSession, ortMsByModel, replayMs, round, summarize } from './pipeline-timing.js';

const TARGET_OVERHEAD = 0.2;

const { json, passes, concurrency, smallCount } = parseBenchArgs(
  {
    script: 'bench:pipeline',
    summary: 'End-to-end pipeline speed on 640×480 one-face JPEGs and the 1920 px group photos, per stage, sequential and concurrent, against ONNX Runtime alone on the same inputs.',
  },
  {
    quick: { type: 'boolean', default: false, description: 'a short pass (1 pass, 4 small images) that shows every part works' },
    json: { type: 'boolean', default: false, description: 'print one JSON object instead of the tables' },
    passes: { type: 'string', valueName: 'n', description: 'passes over each image set (default 5, 1 with --quick)' },
    concurrency: { type: 'string', default: '8', valueName: 'n', description: 'requests in flight in the concurrent runs' },
    small: { type: 'string', valueName: 'n', description: '640×480 one-face JPEGs to cut from the test photos (default 12, 4 with --quick)' },
  },
  (v) => ({
    json: v.json,
    passes: numberFlag('passes', v.passes ?? (v.quick ? '1' : '5'), 1, 1000, true),
    concurrency: numberFlag('concurrency', v.concurrency, 1, 256, true),
    smallCount: numberFlag('small', v.small ?? (v.quick ? '4' : '12'), 1, 100, true),
  }),
);
const log = (line: string) => {
  if (!json) console.log(line);
};

const config = loadConfig({ env: process.env });
/** In-process sessions run one model run at a time on this thread, so more batches in flight would only queue. */
const INFLIGHT_BATCHES = 1;
const raw = await openPipelineSessions({ modelsDir: config.pipeline.modelsDir, intraOpThreads: config.pipeline.intraOpThreads });
const timed = { detector: new TimedSession(raw.detector), landmarks: new TimedSession(raw.landmarks), embedder: new TimedSession(raw.embedder) };
const allTimed = Object.values(timed);
const imageOps = new TimedImageOps(raw.imageOps);
const settings = config.pipeline;
const makeBatched = (model: keyof typeof timed) =>
  createBatchedRunner(timed[model], { ...config.batching[model], maxInflightBatches: INFLIGHT_BATCHES, makeInput: inputMaker(imageOps, model) });
const batched = { detector: makeBatched('detector'), landmarks: makeBatched('landmarks'), embedder: makeBatched('embedder') };

const directPipeline = (instrumentation?: PipelineInstrumentation): FacePipeline =>
  createFacePipeline({ runners: directRunners(timed, imageOps), settings, ...(instrumentation ? { instrumentation } : {}) });
const batchedPipeline = createFacePipeline({ runners: batched, settings });

function startRecording(): void {
  for (const s of [...allTimed, imageOps]) (s.runs.length = 0), (s.recording = true);
}
function stopRecording() {
  for (const s of [...allTimed, imageOps]) s.recording = false;
  return { runs: allTimed.flatMap((s) => s.runs.splice(0)), imageOpRuns: imageOps.runs.splice(0) };
}

async function sequential(images: readonly BenchImage[]) {
  for (const image of images) await directPipeline().analyze(image.bytes); // warm-up
  const perImage: Array<{ wallMs: number; stages: Record<string, number> }> = [];
  let faces = 0;
  startRecording();
  const cpuStart = process.cpuUsage();
  for (let pass = 0; pass < passes; pass++) {
    for (const image of images) {
      const recorder = new StageRecorder();
      const start = performance.now();
      const result = await directPipeline(recorder.instrumentation).analyze(image.bytes);
      perImage.push({ wallMs: performance.now() - start, stages: recorder.totals() });
      faces += result.faces.length;
    }
  }
  const cpuMs = cpuTotalMs(process.cpuUsage(cpuStart));
  const { runs, imageOpRuns } = stopRecording();
  const wallMs = perImage.reduce((a, p) => a + p.wallMs, 0);
  const ortInPipelineMs = runs.reduce((a, r) => a + r.ms, 0);
  const modelsAloneMs = await replayMs(runs);
  const imageGraphsAloneMs = await imageOps.replayMs(imageOpRuns);
  const ortAloneMs = modelsAloneMs + imageGraphsAloneMs;
  const ortByModelMs = ortMsByModel(runs);
  const stages = Object.fromEntries(STAGES.map((s) => [s, summarize(perImage.map((p) => p.stages[s]!))]));
  return {
    images: perImage.length, faces, wallMs, cpuMs, ortInPipelineMs, ortAloneMs, modelsAloneMs, imageGraphsAloneMs, ortByModelMs,
    modelRuns: runs.length, imageGraphRuns: imageOpRuns.length, stages, perImage: summarize(perImage.map((p) => p.wallMs)),
  };
}

async function concurrent(images: readonly BenchImage[]) {
  const work = async (count: number) => {
    let next = 0;
    let faces = 0;
    const worker = async () => {
      while (next < count) {
        const image = images[next++ % images.length]!;
        const found = (await batchedPipeline.analyze(image.bytes)).faces.length;
        faces += found;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return faces;
  };
  await work(Math.max(images.length, concurrency)); // warm-up: batch shapes allocate ORT buffers once
  const count = images.length * passes;
  startRecording();
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const faces = await work(count);
  const wallMs = performance.now() - start;
  const cpuMs = cpuTotalMs(process.cpuUsage(cpuStart));
  const { runs, imageOpRuns } = stopRecording();
  const modelsAloneMs = await replayMs(runs, INFLIGHT_BATCHES);
  const imageGraphsAloneMs = await imageOps.replayMs(imageOpRuns);
  const itemsPerRun = runs.reduce((a, r) => a + r.batch.dims[0]!, 0) / runs.length;
  return { images: count, faces, wallMs, cpuMs, ortAloneMs: modelsAloneMs + imageGraphsAloneMs, modelsAloneMs, imageGraphsAloneMs, modelRuns: runs.length, meanBatchSize: itemsPerRun };
}

/** User + system CPU of every thread of this process (ORT, libvips and libuv workers included). */
function cpuTotalMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}

/**
 * ORT time includes the image graphs (landmark crop, warp): they are ONNX
 * Runtime runs. `modelsOnlyRatio` counts them as outside, for comparison
 * with figures from before they existed.
 */
function verdict(r: { wallMs: number; ortAloneMs: number; modelsAloneMs: number }) {
  const overhead = (r.wallMs - r.ortAloneMs) / r.ortAloneMs;
  const modelsOnly = (r.wallMs - r.modelsAloneMs) / r.modelsAloneMs;
  return { outsideOrtMs: round(r.wallMs - r.ortAloneMs), overheadRatio: round(overhead, 3), modelsOnlyRatio: round(modelsOnly, 3), pass: overhead <= TARGET_OVERHEAD };
}

const ortVersion = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  // The cores this process may run on (taskset/cgroup affinity), not all the host has.
  cores: availableParallelism(),
  node: process.version,
  onnxruntime: ortVersion,
  sharp: sharp.versions.sharp,
  libvips: sharp.versions.vips,
  sharpConcurrency: sharp.concurrency(),
  uvThreadpoolSize: process.env['UV_THREADPOOL_SIZE'] ?? '4 (default)',
  loadAvgStart: loadavg().map((v) => round(v)),
};
const benchSettings = { passes, concurrency, intraOpThreads: config.pipeline.intraOpThreads, batching: config.batching, pipeline: settings };
log(`machine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, onnxruntime-node ${machine.onnxruntime}, sharp ${machine.sharp} (libvips ${machine.libvips}, concurrency ${machine.sharpConcurrency}), UV_THREADPOOL_SIZE ${machine.uvThreadpoolSize}`);
log(`settings: passes ${passes}, concurrency ${concurrency}, intraOpThreads ${benchSettings.intraOpThreads} (0 = one per core), batch sizes det/lmk/emb ${config.batching.detector.maxBatchSize}/${config.batching.landmarks.maxBatchSize}/${config.batching.embedder.maxBatchSize}, maxQueueDelayMs ${config.batching.embedder.maxQueueDelayMs}`);
log(`load average at start: ${machine.loadAvgStart.join(' ')}`);

const photos = groupPhotos();
const sets = [
  { name: '640x480 one-face JPEG', images: await oneFaceImages(directPipeline(), photos, smallCount) },
  { name: '1920px group photos', images: photos },
];

const results = [];
for (const set of sets) {
  const seq = await sequential(set.images);
  const conc = await concurrent(set.images);
  const seqVerdict = verdict(seq);
  const concVerdict = verdict(conc);
  const loadAvg = loadavg().map((v) => round(v));
  results.push({ set: set.name, imageCount: set.images.length, sequential: { ...seq, ...seqVerdict }, concurrent: { ...conc, ...concVerdict }, loadAvg });

  log(`\n== ${set.name}: ${set.images.length} images × ${passes} passes (load ${loadAvg.join(' ')})`);
  log('per-stage ms per image (sequential)   mean     p50');
  for (const stage of STAGES) log(`  ${stage.padEnd(34)} ${seq.stages[stage]!.meanMs.toFixed(2).padStart(7)} ${seq.stages[stage]!.p50Ms.toFixed(2).padStart(7)}`);
  log(`  ${'whole image'.padEnd(34)} ${seq.perImage.meanMs.toFixed(2).padStart(7)} ${seq.perImage.p50Ms.toFixed(2).padStart(7)}`);
  const line = (label: string, r: { images: number; faces: number; wallMs: number; cpuMs: number; ortAloneMs: number; imageGraphsAloneMs: number }, v: ReturnType<typeof verdict>) =>
    log(
      `${label}: ${((r.images * 1000) / r.wallMs).toFixed(1)} images/s, ${((r.faces * 1000) / r.wallMs).toFixed(1)} faces/s, ${(r.cpuMs / r.wallMs).toFixed(2)} cores busy; ` +
        `wall ${r.wallMs.toFixed(0)} ms, ORT alone ${r.ortAloneMs.toFixed(0)} ms (image graphs ${r.imageGraphsAloneMs.toFixed(0)}), ` +
        `outside ORT ${(v.overheadRatio * 100).toFixed(1)}% of ORT → ${v.pass ? 'PASS' : 'FAIL'} (models only: ${(v.modelsOnlyRatio * 100).toFixed(1)}%)`,
    );
  line('sequential ', seq, seqVerdict);
  const byModel = Object.entries(seq.ortByModelMs).map(([m, ms]) => `${m} ${(ms / seq.images).toFixed(2)}`).join(', ');
  log(`  (run() time seen by the pipeline, queueing behind other runs included: ${seq.ortInPipelineMs.toFixed(0)} ms in ${seq.modelRuns} runs; per image ms: ${byModel})`);
  line(`concurrent ${concurrency}`, conc, concVerdict);
  log(`  (${conc.modelRuns} batched runs, mean batch ${conc.meanBatchSize.toFixed(2)} items)`);
}

const pass = results.every((r) => r.sequential.pass && r.concurrent.pass);
log(`\ntarget (outside ORT ≤ ${TARGET_OVERHEAD * 100}% of ORT time, every set and mode): ${pass ? 'PASS' : 'FAIL'}`);
if (json) console.log(JSON.stringify({ machine, settings: benchSettings, results, target: TARGET_OVERHEAD, pass }, (_key, value) => (typeof value === 'number' ? round(value, 3) : value), 2));

await Promise.all(Object.values(batched).map((r) => r.stop()));
await closePipelineSessions(raw);
