/**
 * How much of the server's enrolment speed `facerec ingest` keeps.
 *
 * In one run, on the same photos, each against a fresh server (its own child
 * process and empty gallery, so nothing is a duplicate):
 *   (a) the server's enrolment throughput: the photos preloaded in memory and
 *       written into BulkIngest calls by a minimal client, with as many calls
 *       open as the ingest job keeps (two), no reading, decoding or bookkeeping;
 *   (b) `facerec ingest <folder>` on those photos written as a folder tree,
 *       run as its own process: listing, reading files, chunking, checkpoints,
 *       progress and the report included.
 * (b)'s rate is the job's own (photos / the report's elapsed seconds), so the
 * ~1 s a Node process needs to start is left out of both; the wall time of the
 * whole command is printed beside it. Target: (b) ≥ 90% of (a).
 *
 * The photos are one-face 640×480 crops of the sample photos, each in several
 * variants (crop offset and JPEG quality), so every photo has its own hash.
 *
 * Usage: npm run bench:ingest -- [--photos N] [--rounds R] [--quick] [--json]
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { Metadata } from '@grpc/grpc-js';
import sharp from 'sharp';

import { FacePolicy, type FaceRecognitionClient, type IngestSummary } from '../src/gen/facerec/v1/facerec.js';
import { packageRoot } from '../src/package-root.js';
import { oneFaceImagesVia, startChildServer } from './batching-server.js';
import { groupPhotos, type BenchImage } from './pipeline-inputs.js';
import { numberFlag, parseBenchArgs } from './cli.js';

const TARGET = 0.9;
const CALLS_IN_FLIGHT = 2;
const SUBJECTS = 20;

const { values, photoCount, rounds } = parseBenchArgs(
  {
    script: 'bench:ingest',
    summary: "How much of the server's enrolment speed `facerec ingest` keeps: BulkIngest from memory against `facerec ingest <folder>` on the same photos, each against a fresh server.",
  },
  {
    photos: { type: 'string', valueName: 'n', description: 'one-face photos to enrol (default 240, 12 with --quick)' },
    rounds: { type: 'string', valueName: 'n', description: 'rounds of both measurements (default 2, 1 with --quick)' },
    quick: { type: 'boolean', default: false, description: 'a short pass that shows every part works' },
    json: { type: 'boolean', default: false, description: 'print one JSON object instead of the lines' },
  },
  (v) => ({
    values: v,
    photoCount: numberFlag('photos', v.photos ?? (v.quick ? '12' : '240'), 1, 100_000, true),
    rounds: numberFlag('rounds', v.rounds ?? (v.quick ? '1' : '2'), 1, 100, true),
  }),
);
const log = (line: string) => {
  if (!values.json) console.log(line);
};
const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

/** `count` distinct JPEGs: each base crop shifted a few pixels and re-encoded at a different quality. */
async function uniquePhotos(bases: readonly BenchImage[], count: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; out.length < count; i++) {
    const base = bases[i % bases.length]!;
    const variant = Math.floor(i / bases.length);
    const shift = variant % 8;
    out.push(
      await sharp(base.bytes)
        .extract({ left: shift, top: shift, width: 640 - 8, height: 480 - 8 })
        .jpeg({ quality: 92 - (variant % 10) })
        .toBuffer(),
    );
  }
  return out;
}

/** (a): the photos from memory, split over CALLS_IN_FLIGHT BulkIngest calls open at once. */
async function minimalClient(client: FaceRecognitionClient, photos: readonly Buffer[]): Promise<{ seconds: number; enrolled: number; failed: number }> {
  const started = performance.now();
  const send = (part: readonly Buffer[], offset: number) =>
    new Promise<IngestSummary>((resolve, reject) => {
      const call = client.bulkIngest(new Metadata(), (error, summary) => (error ? reject(error) : resolve(summary)));
      void (async () => {
        for (const [i, image] of part.entries()) {
          const ready = call.write({ subjectId: `subject-${(offset + i) % SUBJECTS}`, image, payload: undefined, facePolicy: FacePolicy.FACE_POLICY_UNSPECIFIED });
          if (!ready) await new Promise((r) => call.once('drain', r));
        }
        call.end();
      })();
    });
  const share = Math.ceil(photos.length / CALLS_IN_FLIGHT);
  const summaries = await Promise.all(Array.from({ length: CALLS_IN_FLIGHT }, (_, k) => send(photos.slice(k * share, (k + 1) * share), k * share)));
  return {
    seconds: (performance.now() - started) / 1000,
    enrolled: summaries.reduce((n, s) => n + s.enrolled + s.duplicates, 0),
    failed: summaries.reduce((n, s) => n + s.failed, 0),
  };
}

async function writeFolder(photos: readonly Buffer[], dir: string): Promise<void> {
  for (const [i, image] of photos.entries()) {
    const subject = join(dir, `subject-${i % SUBJECTS}`);
    await mkdir(subject, { recursive: true });
    await writeFile(join(subject, `${String(i).padStart(6, '0')}.jpg`), image);
  }
}

/** (b): `facerec ingest` as an operator runs it, in its own process. */
function ingestJob(target: string, folder: string, checkpoint: string): { seconds: number; wallSeconds: number; enrolled: number; failed: number } {
  const started = performance.now();
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(packageRoot(), 'src/cli/main.ts'), 'ingest', folder, '--server', target, '--checkpoint', checkpoint], {
    cwd: packageRoot(),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const wallSeconds = (performance.now() - started) / 1000;
  if (run.status !== 0) throw new Error(`facerec ingest exited with ${run.status}: ${run.stderr}`);
  const report = JSON.parse(run.stdout) as { elapsedSeconds: number; counts: { enrolled: number; duplicates: number; failed: number } };
  return { seconds: report.elapsedSeconds, wallSeconds, enrolled: report.counts.enrolled + report.counts.duplicates, failed: report.counts.failed };
}

const work = await mkdtemp(join(tmpdir(), 'facerec-bench-ingest-'));
try {
  const setup = await startChildServer({});
  let photos: Buffer[];
  try {
    photos = await uniquePhotos(await oneFaceImagesVia(setup.client, groupPhotos(), 16), photoCount);
  } finally {
    await setup.stop();
  }
  const folder = join(work, 'photos');
  await writeFolder(photos, folder);
  log(`bench:ingest: ${photos.length} one-face 640×480 photos, ${SUBJECTS} subjects, ${rounds} round(s), load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  const results: Array<{ round: number; serverPhotosPerS: number; ingestPhotosPerS: number; ingestWallS: number; ratio: number }> = [];
  for (let r = 1; r <= rounds; r++) {
    const a = await startChildServer({});
    const server = await (async () => {
      try {
        return await minimalClient(a.client, photos);
      } finally {
        await a.stop();
      }
    })();
    const b = await startChildServer({});
    let job;
    try {
      // The child server's port is not exposed: ask its client for the channel's target.
      const target = b.client.getChannel().getTarget().replace(/^dns:/, '');
      job = ingestJob(target, folder, join(work, `checkpoint-${r}.json`));
    } finally {
      await b.stop();
    }
    if (server.failed > 0 || job.failed > 0) throw new Error(`photos failed: minimal client ${server.failed}, ingest ${job.failed}`);
    const serverRate = photos.length / server.seconds;
    const ingestRate = photos.length / job.seconds;
    results.push({ round: r, serverPhotosPerS: round(serverRate), ingestPhotosPerS: round(ingestRate), ingestWallS: round(job.wallSeconds), ratio: round(ingestRate / serverRate, 3) });
    log(`round ${r}: (a) server ${serverRate.toFixed(1)} photos/s   (b) facerec ingest ${ingestRate.toFixed(1)} photos/s (whole command ${job.wallSeconds.toFixed(1)} s)   (b)/(a) ${(ingestRate / serverRate).toFixed(3)}`);
  }
  const meanRatio = results.reduce((s, r) => s + r.ratio, 0) / results.length;
  const pass = meanRatio >= TARGET;
  log(`(b)/(a) mean ${meanRatio.toFixed(3)} — target ≥ ${TARGET}: ${pass ? 'PASS' : 'FAIL'}`);
  if (values.json) console.log(JSON.stringify({ photos: photos.length, subjects: SUBJECTS, callsInFlight: CALLS_IN_FLIGHT, loadAvgEnd: loadavg(), results, meanRatio: round(meanRatio, 3), target: TARGET, pass }));
} finally {
  await rm(work, { recursive: true, force: true });
}
