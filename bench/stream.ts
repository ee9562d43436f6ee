/**
 * What camera streams cost: the real server in this process, A and B
 * enrolled, and N simulated cameras each sending the door video (A alone, A
 * and B, B alone, nobody; 640×360 JPEGs) in a loop at F frames per second
 * with FRAME_POLICY_LATEST, as `facerec watch` sends a live camera.
 *
 *   npm run bench:stream
 *   npm run bench:stream -- --cameras 1,2,4 --fps 5,10 --seconds 15
 *   npm run bench:stream -- --json      (one JSON object instead of the table)
 *
 * Per (cameras, fps): frames sent, processed and skipped (the server dropped
 * them because it was behind), result latency p50/p95 of processed frames,
 * and embeddings per face-frame. A setting is "sustained" when fewer than 5 %
 * of the frames are skipped. Needs a quiet machine for figures worth quoting.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { loadConfig } from '../src/config/load.js';
import { FacePolicy, FaceRecognitionClient, FramePolicy, type FrameResult } from '../src/gen/facerec/v1/facerec.js';
import { silentLogger } from '../src/logger.js';
import { startFacerec } from '../src/server/app.js';
import { doorScript, personPhoto, renderFrames } from '../test/support/camera-video.js';
import { numberFlag, numberListFlag, parseBenchArgs } from './cli.js';

const { values, cameraCounts, fpsList, seconds } = parseBenchArgs(
  {
    script: 'bench:stream',
    summary: 'What camera streams cost: simulated cameras sending a door video to RecognizeStream with the LATEST frame policy; frames processed and skipped, latency, embeddings per face-frame.',
  },
  {
    cameras: { type: 'string', default: '1,2,4', valueName: 'n,…', description: 'numbers of cameras to run at once' },
    fps: { type: 'string', default: '5,10', valueName: 'fps,…', description: 'frames per second each camera sends' },
    seconds: { type: 'string', default: '15', valueName: 's', description: 'seconds each setting runs' },
    json: { type: 'boolean', default: false, description: 'print one JSON object instead of the table' },
  },
  (v) => ({
    values: v,
    cameraCounts: numberListFlag('cameras', v.cameras, 1, 256, true),
    fpsList: numberListFlag('fps', v.fps, 0.1, 120),
    seconds: numberFlag('seconds', v.seconds, 0.5, 3600),
  }),
);

const dataDir = await mkdtemp(join(tmpdir(), 'facerec-bench-stream-'));
const config = loadConfig({ env: process.env, overrides: { server: { host: '127.0.0.1', grpcPort: 0, restPort: 0, metricsPort: 0 }, store: { dataDir } } });
const app = await startFacerec(config, { logger: silentLogger });
const client = new FaceRecognitionClient(`127.0.0.1:${app.grpcPort}`, credentials.createInsecure());
for (const [subjectId, person] of [['ada', 'a'], ['bob', 'b']] as const) {
  const image = await personPhoto(person);
  await new Promise((resolve, reject) =>
    client.enrollFace({ subjectId, image, payload: undefined, faceId: undefined, facePolicy: FacePolicy.FACE_POLICY_LARGEST }, (e, r) => (e ? reject(e) : resolve(r))),
  );
}
const frames = await renderFrames(doorScript(8));

async function metric(name: string): Promise<number> {
  const line = (await app.metrics.scrape()).split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** One camera: a frame every 1000/fps ms for `seconds`, then half-close. */
function camera(id: number, fps: number): Promise<{ sent: number; processed: number; skipped: number; latencies: number[] }> {
  return new Promise((resolve, reject) => {
    const stream = client.recognizeStream();
    const sentAt = new Map<number, number>();
    const out = { sent: 0, processed: 0, skipped: 0, latencies: [] as number[] };
    stream.on('data', (r: FrameResult) => {
      if (r.final) return;
      if (r.skipped) out.skipped++;
      else {
        out.processed++;
        out.latencies.push(performance.now() - sentAt.get(r.sequence)!);
      }
      sentAt.delete(r.sequence);
    });
    stream.on('error', reject);
    stream.on('end', () => resolve(out));
    const timer = setInterval(() => {
      const sequence = out.sent++;
      sentAt.set(sequence, performance.now());
      stream.write({ image: frames[sequence % frames.length]!, cameraId: `cam${id}`, sequence, topK: 1, matchFaces: false, policy: FramePolicy.FRAME_POLICY_LATEST, timestamp: undefined });
    }, 1000 / fps);
    setTimeout(() => {
      clearInterval(timer);
      stream.end();
    }, seconds * 1000);
  });
}

const pct = (xs: number[], p: number) => (xs.length ? xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]! : NaN);
const rows = [];
if (!values.json) {
  console.log(`| cameras | fps each | sent | processed | skipped | latency p50 / p95 (ms) | embeddings per face-frame | sustained |`);
  console.log(`|---|---|---|---|---|---|---|---|`);
}
for (const fps of fpsList) {
  for (const n of cameraCounts) {
    const [faces0, emb0] = [await metric('facerec_stream_face_frames_total'), await metric('facerec_stream_embeddings_total')];
    const results = await Promise.all(Array.from({ length: n }, (_, i) => camera(i, fps)));
    const [faces1, emb1] = [await metric('facerec_stream_face_frames_total'), await metric('facerec_stream_embeddings_total')];
    const sum = (k: 'sent' | 'processed' | 'skipped') => results.reduce((s, r) => s + r[k], 0);
    const latencies = results.flatMap((r) => r.latencies);
    const ratio = (emb1 - emb0) / Math.max(1, faces1 - faces0);
    const skippedShare = sum('skipped') / Math.max(1, sum('sent'));
    const row = {
      cameras: n, fpsEach: fps, sent: sum('sent'), processed: sum('processed'), skipped: sum('skipped'), skippedShare,
      latencyP50Ms: pct(latencies, 0.5), latencyP95Ms: pct(latencies, 0.95), embeddingsPerFaceFrame: ratio, sustained: skippedShare < 0.05,
    };
    rows.push(row);
    if (!values.json) {
      console.log(`| ${n} | ${fps} | ${row.sent} | ${row.processed} | ${row.skipped} (${(100 * skippedShare).toFixed(1)} %) | ${row.latencyP50Ms.toFixed(0)} / ${row.latencyP95Ms.toFixed(0)} | ${(100 * ratio).toFixed(1)} % | ${row.sustained ? 'yes' : 'no'} |`);
    }
  }
}
if (values.json) console.log(JSON.stringify({ seconds, rows }, null, 2));
client.close();
await app.stop();
await rm(dataDir, { recursive: true, force: true });
