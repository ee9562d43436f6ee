/**
 * `npm run bench:footprint [-- --seconds 30 --concurrency 8 --workers 2]`:
 * the memory and CPU one facerec server uses, for sizing its Kubernetes
 * requests and limits (k8s/base/facerec.yaml).
 *
 * Runs the compiled server (`node bin/facerec.js serve`, what the image runs;
 * the npm script compiles first) as its own process on the embedded store,
 * waits for it to serve, reads its resident memory idle, then sends Recognize
 * calls with the group photos of test/photos (1920 px, several faces each) at
 * a fixed concurrency for a fixed time, sampling resident memory every 200 ms.
 * Memory and CPU come from /proc/<pid> (Linux): VmRSS now, VmHWM (the peak),
 * and utime + stime over the load as cores busy on average.
 *
 * With `--data-dir <dir>` the server opens that data directory instead of
 * a new empty one (and leaves it in place), so the same figures can be
 * read for a prepared gallery, e.g. one kept by
 * `npm run bench:store -- --sizes 100k --keep --dir <dir>` (its n100000/).
 *
 * On a machine other jobs share, throughput and CPU per call are lower
 * bounds of a quiet machine's; memory depends little on that.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { credentials } from '@grpc/grpc-js';
import { FacePolicy, FaceRecognitionClient } from '../src/gen/facerec/v1/facerec.js';
import { packageRoot } from '../src/package-root.js';
import { call } from './batching-server.js';
import { groupPhotos } from './pipeline-inputs.js';
import { numberFlag, parseBenchArgs } from './cli.js';

const { args, loadSeconds, concurrency, workers } = parseBenchArgs(
  {
    script: 'bench:footprint',
    summary: 'The memory and CPU of one facerec server (the compiled `node bin/facerec.js serve`), idle and under Recognize load with the group photos, for sizing Kubernetes requests and limits.',
  },
  {
    seconds: { type: 'string', default: '30', valueName: 's', description: 'seconds of load' },
    concurrency: { type: 'string', default: '8', valueName: 'n', description: 'Recognize calls in flight' },
    // In a pod, FACEREC_PIPELINE__INFERENCE_WORKERS is set to the CPU it may use.
    workers: { type: 'string', default: '2', valueName: 'n', description: "the server's inference workers" },
    'data-dir': { type: 'string', valueName: 'dir', description: 'a prepared gallery to open and leave in place (default a fresh temporary one)' },
  },
  (v) => ({
    args: v,
    loadSeconds: numberFlag('seconds', v.seconds, 1, 3600),
    concurrency: numberFlag('concurrency', v.concurrency, 1, 1024, true),
    workers: numberFlag('workers', v.workers, 1, 256, true),
  }),
);

const MIB = 1024 * 1024;
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function memoryOf(pid: number): { rssBytes: number; peakRssBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') };
}

function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "(comm)": state is field 0, utime field 11, stime field 12.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const root = packageRoot();
  if (!existsSync(join(root, 'dist/src/cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` (or `npm run bench:footprint`, which compiles first)');
  const givenDataDir = args['data-dir'];
  const dataDir = givenDataDir ?? (await mkdtemp(join(tmpdir(), 'facerec-footprint-')));
  const server = spawn(process.execPath, [join(root, 'bin/facerec.js'), 'serve'], {
    cwd: root,
    env: {
      PATH: process.env['PATH'] ?? '',
      FACEREC_HOST: '127.0.0.1',
      // Any free port: the server names the one it bound in its "facerec serving" line.
      GRPC_PORT: '0',
      FACEREC_SERVER__REST_ENABLED: 'false',
      FACEREC_SERVER__METRICS_ENABLED: 'false',
      DATA_DIR: dataDir,
      FACEREC_PIPELINE__INFERENCE_WORKERS: String(workers),
      FACEREC_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let client: FaceRecognitionClient | undefined;
  try {
    const grpcPort = await new Promise<number>((resolve, reject) => {
      createInterface({ input: server.stderr! }).on('line', (line) => {
        if (line.includes('"facerec serving"')) resolve((JSON.parse(line) as { grpcPort: number }).grpcPort);
      });
      server.once('exit', (code) => reject(new Error(`server exited with code ${code} before serving`)));
    });
    client = new FaceRecognitionClient(`127.0.0.1:${grpcPort}`, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * MIB });
    const connected = client;
    const pid = server.pid!;
    await sleep(3000); // let start-up garbage settle
    const idle = memoryOf(pid);

    const photos = groupPhotos();
    // A small gallery, so each Recognize also searches and ranks.
    for (const [index, photo] of photos.entries()) {
      await call(connected.enrollFace, connected, { subjectId: `subject-${index}`, image: photo.bytes, payload: undefined, facePolicy: FacePolicy.FACE_POLICY_LARGEST }).catch(() => undefined);
    }
    let peakRss = memoryOf(pid).rssBytes;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, memoryOf(pid).rssBytes)), 200);
    const cpuBefore = cpuSecondsOf(pid);
    const started = performance.now();
    const deadline = started + loadSeconds * 1000;
    let calls = 0;
    let failures = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async (_, worker) => {
        for (let i = worker; performance.now() < deadline; i += concurrency) {
          try {
            await call(connected.recognize, connected, { image: photos[i % photos.length]!.bytes, topK: 3, includeEmbedding: false, filter: undefined, matchFaces: false });
            calls++;
          } catch {
            failures++;
          }
        }
      }),
    );
    const wallSeconds = (performance.now() - started) / 1000;
    const cpuSeconds = cpuSecondsOf(pid) - cpuBefore;
    clearInterval(sampler);
    const loaded = memoryOf(pid);
    const result = {
      machine: { cores: cpus().length, model: cpus()[0]?.model, note: 'shared with other jobs: throughput and CPU figures are lower bounds' },
      settings: { inferenceWorkers: workers, concurrency, loadSeconds, dataDir: givenDataDir ?? null },
      idleRssMiB: +(idle.rssBytes / MIB).toFixed(0),
      loadRssMiB: +(loaded.rssBytes / MIB).toFixed(0),
      peakRssMiB: +(Math.max(peakRss, loaded.peakRssBytes) / MIB).toFixed(0),
      recognizeCalls: calls,
      failures,
      callsPerSecond: +(calls / wallSeconds).toFixed(2),
      cpuCoresBusy: +(cpuSeconds / wallSeconds).toFixed(2),
      cpuSecondsPerCall: calls > 0 ? +(cpuSeconds / calls).toFixed(3) : null,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    client?.close();
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    }
    if (!givenDataDir) await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
