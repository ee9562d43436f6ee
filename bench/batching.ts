/**
 * End-to-end dynamic batching benchmark.
 *
 * Starts the real server as a child process twice, batching ON (schema
 * defaults) and OFF (MAX_BATCH_SIZE=1 for every model), enrols a few subjects,
 * then drives closed-loop Recognize load at several concurrencies and reports
 * req/s, faces/s, p50/p99 latency and the batch sizes the server actually ran
 * (scraped from facerec_batch_size on /metrics). Checks:
 *   (1) at concurrency 16, throughput ON / OFF ≥ 1.15;
 *   (2) at concurrency 1, p50 ON − OFF ≤ 2 ms (LATENCY_BUDGET_MS below).
 *
 * Usage: npm run bench:batching -- [--quick] [--json] [--images small|group]
 *        [--duration-ms N] [--warmup-ms N] [--concurrency 1,4,16,64]
 */
import { loadavg } from 'node:os';
import { UsageError } from '../src/cli/command.js';
import { loadConfig } from '../src/config/load.js';
import { FaceRecognitionClient } from '../src/gen/facerec/v1/facerec.js';
import { call, startChildServer, oneFaceImagesVia, type ChildServer, type ModelName } from './batching-server.js';
import { groupPhotos, type BenchImage } from './pipeline-inputs.js';
import { numberFlag, numberListFlag, parseBenchArgs } from './cli.js';

const MIN_SPEEDUP = 1.15;
const SPEEDUP_CONCURRENCY = 16;
const ENROLLED_SUBJECTS = 4;
/** The latency budget at concurrency 1: the seed's max_queue_delay default. */
const LATENCY_BUDGET_MS = 2;

const { quick, json, imageMode, durationMs, warmupMs, concurrencies } = parseBenchArgs(
  {
    script: 'bench:batching',
    summary: 'Dynamic batching on against off: the server started twice as a child process, closed-loop Recognize at each concurrency, req/s, p50/p99 and the batch sizes it ran.',
  },
  {
    quick: { type: 'boolean', default: false, description: 'short runs (1.5 s after 0.5 s warm-up) that show every part works' },
    json: { type: 'boolean', default: false, description: 'print one JSON object instead of the table' },
    images: { type: 'string', default: 'small', valueName: 'small|group', description: '640×480 one-face JPEGs cut from the test photos, or the 1920 px group photos' },
    'duration-ms': { type: 'string', valueName: 'ms', description: 'measured time per point (default 8000, 1500 with --quick)' },
    'warmup-ms': { type: 'string', valueName: 'ms', description: 'warm-up before each point, left out (default 2000, 500 with --quick)' },
    concurrency: { type: 'string', default: '1,4,16,64', valueName: 'n,…', description: 'the concurrencies to run, each ON and OFF' },
  },
  (v) => {
    if (v.images !== 'small' && v.images !== 'group') throw new UsageError(`--images must be small or group, not "${v.images}"`);
    return {
      quick: v.quick,
      json: v.json,
      imageMode: v.images,
      durationMs: numberFlag('duration-ms', v['duration-ms'] ?? (v.quick ? '1500' : '8000'), 100, 600_000),
      warmupMs: numberFlag('warmup-ms', v['warmup-ms'] ?? (v.quick ? '500' : '2000'), 0, 600_000),
      concurrencies: numberListFlag('concurrency', v.concurrency, 1, 1024, true),
    };
  },
);
const log = (line: string) => {
  if (!json) console.log(line);
};
const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

const defaults = loadConfig({ env: {} }).batching;
const configuredMaxQueueDelayMs = Math.max(defaults.detector.maxQueueDelayMs, defaults.landmarks.maxQueueDelayMs, defaults.embedder.maxQueueDelayMs);
const OFF_ENV = Object.fromEntries(['DETECTOR', 'LANDMARKS', 'EMBEDDER'].map((m) => [`FACEREC_BATCHING__${m}__MAX_BATCH_SIZE`, '1']));

interface Point {
  batching: 'on' | 'off';
  concurrency: number;
  requests: number;
  errors: number;
  reqPerS: number;
  facesPerS: number;
  p50Ms: number;
  p99Ms: number;
  meanBatchSize: Record<ModelName, number>;
  loadAvg1m: number;
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** N workers, each with one Recognize in flight, until `untilMs` (bounded by the clock). */
async function closedLoop(client: FaceRecognitionClient, images: readonly BenchImage[], concurrency: number, untilMs: number) {
  const latencies: number[] = [];
  let faces = 0;
  let errors = 0;
  let next = 0;
  const worker = async () => {
    while (performance.now() < untilMs) {
      const image = images[next++ % images.length]!;
      const start = performance.now();
      try {
        const res = await call(client.recognize, client, { image: image.bytes, topK: 1, includeEmbedding: false, filter: undefined, matchFaces: false });
        latencies.push(performance.now() - start);
        faces += res.faces.length;
      } catch {
        errors++;
        if (errors > 100) throw new Error('more than 100 failed Recognize calls');
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { latencies, faces, errors };
}

async function measure(server: ChildServer, images: readonly BenchImage[], batching: 'on' | 'off', concurrency: number): Promise<Point> {
  await closedLoop(server.client, images, concurrency, performance.now() + warmupMs);
  const before = await server.batchStats();
  const start = performance.now();
  const run = await closedLoop(server.client, images, concurrency, start + durationMs);
  const elapsedS = (performance.now() - start) / 1000;
  const after = await server.batchStats();
  const meanBatchSize = Object.fromEntries(
    (Object.keys(after) as ModelName[]).map((m) => {
      const batches = after[m].batches - before[m].batches;
      return [m, batches > 0 ? round((after[m].items - before[m].items) / batches) : 0];
    }),
  ) as Record<ModelName, number>;
  const sorted = run.latencies.sort((a, b) => a - b);
  return {
    batching,
    concurrency,
    requests: sorted.length,
    errors: run.errors,
    reqPerS: round(sorted.length / elapsedS),
    facesPerS: round(run.faces / elapsedS),
    p50Ms: round(percentile(sorted, 0.5)),
    p99Ms: round(percentile(sorted, 0.99)),
    meanBatchSize,
    loadAvg1m: round(loadavg()[0]!),
  };
}

async function runConfiguration(batching: 'on' | 'off', active: { server?: ChildServer }): Promise<Point[]> {
  log(`starting server, batching ${batching}…`);
  const server = await startChildServer(batching === 'on' ? {} : OFF_ENV);
  active.server = server;
  try {
    const photos = groupPhotos();
    const images = imageMode === 'group' ? photos : await oneFaceImagesVia(server.client, photos, quick ? 4 : 8);
    if (images.length === 0) throw new Error('no bench images');
    const toEnrol = await oneFaceImagesVia(server.client, photos, ENROLLED_SUBJECTS);
    for (const [i, image] of toEnrol.entries()) {
      await call(server.client.enrollFace, server.client, { subjectId: `bench-${i}`, image: image.bytes, payload: undefined, facePolicy: 2 });
    }
    const points: Point[] = [];
    for (const concurrency of concurrencies) {
      const point = await measure(server, images, batching, concurrency);
      log(`  ${batching} c=${concurrency}: ${point.reqPerS} req/s, p50 ${point.p50Ms} ms, p99 ${point.p99Ms} ms, batches ${JSON.stringify(point.meanBatchSize)}, load ${point.loadAvg1m}`);
      points.push(point);
    }
    return points;
  } finally {
    await server.stop();
    active.server = undefined;
  }
}

const active: { server?: ChildServer } = {};
const onSignal = () => {
  void (active.server?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

try {
  const loadAvgStart = loadavg().map((v) => round(v));
  const on = await runConfiguration('on', active);
  const off = await runConfiguration('off', active);
  const at = (points: Point[], c: number) => points.find((p) => p.concurrency === c);
  const on16 = at(on, SPEEDUP_CONCURRENCY);
  const off16 = at(off, SPEEDUP_CONCURRENCY);
  const on1 = at(on, 1);
  const off1 = at(off, 1);
  const speedup = on16 && off16 && off16.reqPerS > 0 ? round(on16.reqPerS / off16.reqPerS) : null;
  const latencyCostMs = on1 && off1 ? round(on1.p50Ms - off1.p50Ms) : null;
  const checks = {
    throughput: { concurrency: SPEEDUP_CONCURRENCY, onOverOff: speedup, min: MIN_SPEEDUP, pass: speedup !== null && speedup >= MIN_SPEEDUP },
    latency: { concurrency: 1, p50OnMinusOffMs: latencyCostMs, maxMs: LATENCY_BUDGET_MS, configuredMaxQueueDelayMs, pass: latencyCostMs !== null && latencyCostMs <= LATENCY_BUDGET_MS },
  };
  const result = { images: imageMode, durationMs, warmupMs, loadAvgStart, loadAvgEnd: loadavg().map((v) => round(v)), defaults, points: [...on, ...off], checks };
  if (json) {
    console.log(JSON.stringify(result, null, 2));
  } else {
    console.log('\nbatching  conc    req/s  faces/s   p50 ms   p99 ms  batch det/lmk/emb  load');
    for (const p of result.points) {
      const b = p.meanBatchSize;
      console.log(`${p.batching.padEnd(8)} ${String(p.concurrency).padStart(5)} ${String(p.reqPerS).padStart(8)} ${String(p.facesPerS).padStart(8)} ${String(p.p50Ms).padStart(8)} ${String(p.p99Ms).padStart(8)}  ${`${b.detector}/${b.landmarks}/${b.embedder}`.padEnd(17)}  ${p.loadAvg1m}`);
    }
    console.log(`\n(1) throughput ON/OFF at c=${SPEEDUP_CONCURRENCY}: ${speedup} (≥ ${MIN_SPEEDUP}) ${checks.throughput.pass ? 'PASS' : 'FAIL'}`);
    console.log(`(2) p50 ON−OFF at c=1: ${latencyCostMs} ms (≤ ${LATENCY_BUDGET_MS} ms; largest configured delay ${configuredMaxQueueDelayMs} ms) ${checks.latency.pass ? 'PASS' : 'FAIL'}`);
    console.log(`load average start ${loadAvgStart.join(' ')}, end ${result.loadAvgEnd.join(' ')}`);
  }
} catch (error) {
  await active.server?.stop();
  console.error(error);
  process.exitCode = 1;
}
