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
import { createInterface } from 'node:readline';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import sharp from 'sharp';
import { FaceRecognitionClient, type Box } from '../src/gen/facerec/v1/facerec.js';
import { packageRoot } from '../src/package-root.js';
import type { BenchImage } from './pipeline-inputs.js';

const STARTUP_TIMEOUT_MS = 120_000;
const MODELS = ['detector', 'landmarks', 'embedder'] as const;
export type ModelName = (typeof MODELS)[number];

export interface ChildServer {
  readonly client: FaceRecognitionClient;
  /** The ports the child bound; restPort only when its env turned the REST gateway on. */
  readonly ports: { readonly grpcPort: number; readonly restPort?: number; readonly metricsPort: number };
  /** Batch count and mean batch size per model, from facerec_batch_size. */
  batchStats(): Promise<Record<ModelName, { batches: number; items: number }>>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Resolves with the ports the child bound, from its "facerec serving" log line
 * (written once gRPC, REST and /metrics all listen): the ports are 0 in its
 * config, so the OS picks them and nothing else can take one first.
 */
function waitServing(child: ChildProcess): Promise<ChildServer['ports']> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server not serving within ${STARTUP_TIMEOUT_MS / 1000} s`)), STARTUP_TIMEOUT_MS);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`server exited with code ${code} during startup`));
    };
    child.once('exit', onExit);
    createInterface({ input: child.stderr! }).on('line', (line) => {
      let entry: { message?: string; grpcPort?: number; restPort?: number; metricsPort?: number };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      if (entry.message !== 'facerec serving') return;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve({ grpcPort: entry.grpcPort!, metricsPort: entry.metricsPort!, ...(entry.restPort ? { restPort: entry.restPort } : {}) });
    });
  });
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

/**
 * Starts `src/cli/main.ts serve` under tsx with `env` added; resolves once
 * SERVING. The REST gateway is off unless `env` sets
 * FACEREC_SERVER__REST_ENABLED=true; every port is chosen by the OS.
 */
export async function startChildServer(env: Record<string, string>, onStderr?: (line: string) => void): Promise<ChildServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'facerec-bench-'));
  const child = spawn(process.execPath, ['--import', 'tsx', join(packageRoot(), 'src/cli/main.ts'), 'serve'], {
    cwd: packageRoot(),
    env: {
      ...process.env,
      FACEREC_SERVER__REST_ENABLED: 'false',
      ...env,
      DATA_DIR: dataDir,
      FACEREC_HOST: '127.0.0.1',
      GRPC_PORT: '0',
      REST_PORT: '0',
      METRICS_PORT: '0',
      FACEREC_SERVER__METRICS_ENABLED: 'true',
      // info, for the "facerec serving" line with the bound ports; the server logs nothing per request at info.
      FACEREC_LOG_LEVEL: 'info',
    },
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
  let ports: ChildServer['ports'];
  try {
    ports = await waitServing(child);
  } catch (error) {
    await kill();
    throw new Error(`${(error as Error).message}\n${stderrTail}`);
  }
  const client = new FaceRecognitionClient(`127.0.0.1:${ports.grpcPort}`, credentials.createInsecure(), {
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  return {
    client,
    ports,
    async batchStats() {
      const res = await fetch(`http://127.0.0.1:${ports.metricsPort}/metrics`);
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
