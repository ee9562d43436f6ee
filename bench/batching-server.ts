/**
 * The server side of bench/batching.ts: the real facerec server as a child
 * process (own event loop, so the load generator does not steal its CPU
 * time), a generated gRPC client to it, the /metrics batch-size scrape, and
 * the bench images (cut with the server's own Detect, so this process loads
 * no model).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, loadPackageDefinition, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import sharp from 'sharp';
import { FaceRecognitionClient, type Box } from '../src/gen/facerec/v1/facerec.js';
import { packageRoot } from '../src/package-root.js';
import { freePort } from '../test/support/free-port.js';
import type { BenchImage } from './pipeline-inputs.js';

const STARTUP_TIMEOUT_MS = 120_000;
const MODELS = ['detector', 'landmarks', 'embedder'] as const;
export type ModelName = (typeof MODELS)[number];

export interface ChildServer {
  readonly client: FaceRecognitionClient;
  /** Batch count and mean batch size per model, from facerec_batch_size. */
  batchStats(): Promise<Record<ModelName, { batches: number; items: number }>>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitServing(port: number, child: ChildProcess): Promise<void> {
  const health = loadPackageDefinition(loadSync(healthProtoPath)) as any;
  const client = new health.grpc.health.v1.Health(`127.0.0.1:${port}`, credentials.createInsecure());
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  try {
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode} during startup`);
      const status = await new Promise<string | number | undefined>((resolve) =>
        client.check({ service: 'facerec.v1.FaceRecognition' }, { deadline: new Date(Date.now() + 1000) }, (e: Error | null, r: { status: string | number }) => resolve(e ? undefined : r.status)),
      );
      if (status === 'SERVING' || status === 1) return; // 1 = SERVING when enums load as numbers
      await sleep(200);
    }
    throw new Error('server not SERVING within 120 s');
  } finally {
    client.close();
  }
}

/** Parses `facerec_batch_size_{count,sum}{model="..."}` from the Prometheus text. */
export function parseBatchSizes(text: string): Record<ModelName, { batches: number; items: number }> {
  const out = Object.fromEntries(MODELS.map((m) => [m, { batches: 0, items: 0 }])) as Record<ModelName, { batches: number; items: number }>;
  for (const line of text.split('\n')) {
    const m = /^facerec_batch_size_(count|sum)\{[^}]*model="(\w+)"[^}]*\}\s+(\S+)/.exec(line);
    if (!m || !(m[2]! in out)) continue;
    const entry = out[m[2] as ModelName];
    if (m[1] === 'count') entry.batches = Number(m[3]);
    else entry.items = Number(m[3]);
  }
  return out;
}

/** Starts `src/cli/main.ts serve` under tsx with `env` added; resolves once SERVING. */
export async function startChildServer(env: Record<string, string>, onStderr?: (line: string) => void): Promise<ChildServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'facerec-bench-'));
  const [grpcPort, metricsPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, ['--import', 'tsx', join(packageRoot(), 'src/cli/main.ts'), 'serve'], {
    cwd: packageRoot(),
    env: { ...process.env, ...env, DATA_DIR: dataDir, GRPC_PORT: String(grpcPort), REST_PORT: '0', METRICS_PORT: String(metricsPort), FACEREC_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderrTail = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-4000);
    onStderr?.(chunk.toString());
  });
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const exited = new Promise((r) => child.once('exit', r));
      if (!(await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]))) child.kill('SIGKILL');
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitServing(grpcPort, child);
  } catch (error) {
    await kill();
    throw new Error(`${(error as Error).message}\n${stderrTail}`);
  }
  const client = new FaceRecognitionClient(`127.0.0.1:${grpcPort}`, credentials.createInsecure(), {
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  return {
    client,
    async batchStats() {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      return parseBatchSizes(await res.text());
    },
    async stop() {
      client.close();
      await kill();
    },
  };
}

type Unary<Req, Res> = (request: Req, metadata: Metadata, options: { deadline?: Date }, callback: (error: ServiceError | null, response: Res) => void) => unknown;

export function call<Req, Res>(method: Unary<Req, Res>, client: FaceRecognitionClient, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, request, new Metadata(), { deadline: new Date(Date.now() + 60_000) }, (e, r) => (e ? reject(e) : resolve(r)));
  });
}

/** A 4:3 window about three face widths wide around `box`, kept inside the image. */
function windowAround(box: Box, width: number, height: number) {
  let w = Math.min(width, Math.max(320, (box.x2 - box.x1) * 3));
  let h = (w * 3) / 4;
  if (h > height) [h, w] = [height, (height * 4) / 3];
  const left = Math.round(Math.min(width - w, Math.max(0, (box.x1 + box.x2) / 2 - w / 2)));
  const top = Math.round(Math.min(height - h, Math.max(0, (box.y1 + box.y2) / 2 - h / 2)));
  return { left, top, width: Math.floor(w), height: Math.floor(h) };
}

/** 640×480 one-face JPEGs cut around the faces of the group photos, checked with Detect. */
export async function oneFaceImagesVia(client: FaceRecognitionClient, photos: readonly BenchImage[], limit: number): Promise<BenchImage[]> {
  const out: BenchImage[] = [];
  for (const photo of photos) {
    const found = await call(client.detect, client, { image: photo.bytes, includeEmbedding: false });
    for (const [index, face] of found.faces.entries()) {
      const bytes = await sharp(photo.bytes).rotate().extract(windowAround(face.box!, found.imageWidth, found.imageHeight))
        .resize(640, 480, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
      const check = await call(client.detect, client, { image: bytes, includeEmbedding: false });
      if (check.faces.length === 1) out.push({ name: `${photo.name}#${index}`, bytes });
      if (out.length >= limit) return out;
    }
  }
  return out;
}
