/**
 * Gallery store benchmark: synthetic unit vectors at 10k / 100k / 1M.
 *
 *   npm run bench:store                      # 10k and 100k
 *   npm run bench:store -- --sizes 10k,100k,1m --queries 1000
 *
 * Per size: insert rate through upsertFaces (batches of 1000, SQLite + index),
 * then a fresh process reopens the store (start-up time, resident memory) and
 * runs search at k=1 and k=10 (p50/p99), with recall@1 / recall@10 against
 * exact search. Queries are noisy copies of stored vectors at a chosen cosine
 * (as a second photo of an enrolled face is), plus pure random queries, the
 * worst case for HNSW. Store settings come from the usual config (FACEREC_STORE__*).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import usearch, { type BatchMatches } from 'usearch';

import { UsageError } from '../src/cli/command.js';
import { loadConfig } from '../src/config/load.js';
import type { StoreConfig } from '../src/config/schema.js';
import { createLogger } from '../src/logger.js';
import { EmbeddedVectorStore } from '../src/store/index.js';
import { normalise, seededRandom } from '../src/store/test-vectors.js';
import { numberFlag, parseBenchArgs } from './cli.js';

const DIM = 512;
const { values } = parseBenchArgs(
  {
    script: 'bench:store',
    summary: 'The embedded gallery on synthetic 512-d unit vectors: insert rate, start-up, memory, search latency at k=1 and k=10, and recall against exact search.',
  },
  {
    sizes: { type: 'string', default: '10k,100k', valueName: 'n,…', description: 'gallery sizes, e.g. 10k,100k,1m (1m takes over an hour to build)' },
    queries: { type: 'string', default: '1000', valueName: 'n', description: 'search queries per size' },
    'query-cos': { type: 'string', default: '0.7', valueName: 'cos', description: 'cosine of each noisy query to the stored vector it copies' },
    data: { type: 'string', default: 'latent', valueName: 'latent|random', description: 'vectors near a low-dimensional subspace, as face embeddings are, or uniformly random' },
    'latent-dim': { type: 'string', default: '32', valueName: 'n', description: 'the subspace dimension of --data latent' },
    dir: { type: 'string', valueName: 'dir', description: 'where the galleries are built (default a temporary folder)' },
    keep: { type: 'boolean', default: false, description: 'keep the built galleries (e.g. for bench:footprint --data-dir)' },
    phase: { type: 'string', default: 'build', valueName: 'build|search', description: 'internal: the search phase runs in a fresh process of its own' },
  },
  (v) => {
    v.sizes.split(',').forEach(parseSize);
    numberFlag('queries', v.queries, 1, 10_000_000, true);
    numberFlag('query-cos', v['query-cos'], -1, 1);
    numberFlag('latent-dim', v['latent-dim'], 1, DIM, true);
    if (v.data !== 'latent' && v.data !== 'random') throw new UsageError(`--data must be latent or random, not "${v.data}"`);
    if (v.phase !== 'build' && v.phase !== 'search') throw new UsageError(`--phase must be build or search, not "${v.phase}"`);
    return { values: v };
  },
);

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(s.trim());
  if (!m) throw new UsageError(`--sizes takes sizes such as 10k, 100k or 1m, not "${s}"`);
  return Math.round(Number(m[1]) * ({ '': 1, k: 1e3, m: 1e6 }[m[2]!.toLowerCase() as '' | 'k' | 'm']));
}

function storeOptions(config: StoreConfig, dataDir: string) {
  return {
    dataDir,
    annThreshold: config.annThreshold,
    hnsw: { connectivity: config.hnswConnectivity, expansionAdd: config.hnswExpansionAdd, expansionSearch: config.hnswExpansionSearch },
    indexSaveEveryChanges: config.indexSaveEveryChanges,
    dimension: DIM,
    // Warnings only (a failed index save, a rebuilt index), on stderr: stdout carries the results.
    logger: createLogger('warn'),
  };
}

function randomMatrix(rows: number, random: () => number): Float32Array {
  const m = new Float32Array(rows * DIM);
  for (let i = 0; i < m.length; i++) m[i] = random() - 0.5;
  for (let r = 0; r < rows; r++) normalise(m.subarray(r * DIM, (r + 1) * DIM));
  return m;
}

/**
 * Face embeddings are not uniform on the sphere: they live near a manifold of
 * far lower dimension than 512. Model that as a random linear map of a
 * `latentDim`-d Gaussian plus isotropic noise (about 20% of the variance).
 * Uniform random vectors (`--data random`) have no structure at all, the worst
 * case for any graph index, and are reported separately.
 */
function latentMatrix(rows: number, latentDim: number, random: () => number): Float32Array {
  const gauss = () => random() + random() + random() - 1.5;
  const map = Float32Array.from({ length: DIM * latentDim }, gauss);
  const noise = 0.5 * Math.sqrt(latentDim);
  const m = new Float32Array(rows * DIM);
  const z = new Float32Array(latentDim);
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < latentDim; t++) z[t] = gauss();
    for (let j = 0; j < DIM; j++) {
      let sum = 0;
      for (let t = 0; t < latentDim; t++) sum += map[j * latentDim + t]! * z[t]!;
      m[r * DIM + j] = sum + noise * gauss();
    }
    normalise(m.subarray(r * DIM, (r + 1) * DIM));
  }
  return m;
}

/** A query at cosine ≈ `cos` to stored row `row`: add isotropic noise of the right norm. */
function noisyCopy(matrix: Float32Array, row: number, cos: number, random: () => number): Float32Array {
  const noise = normalise(Float32Array.from({ length: DIM }, () => random() - 0.5));
  const t = Math.sqrt(1 / (cos * cos) - 1);
  const q = new Float32Array(DIM);
  for (let i = 0; i < DIM; i++) q[i] = matrix[row * DIM + i]! + t * noise[i]!;
  return normalise(q);
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

async function build(): Promise<void> {
  const config = loadConfig({ env: process.env }).store;
  const root = values.dir ?? join(tmpdir(), `facerec-bench-store-${process.pid}`);
  const nQueries = Number(values.queries);
  const cos = Number(values['query-cos']);
  console.log(`store bench: dim ${DIM}, annThreshold ${config.annThreshold}, M ${config.hnswConnectivity}, efConstruction ${config.hnswExpansionAdd}, efSearch ${config.hnswExpansionSearch || "auto"}, data ${values.data}${values.data === 'random' ? '' : ` (latent dim ${values['latent-dim']})`}, noisy queries at cos ${cos}`);
  for (const size of values.sizes!.split(',').map(parseSize)) {
    const dataDir = join(root, `n${size}`);
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
    const random = seededRandom(size);
    const matrix = values.data === 'random' ? randomMatrix(size, random) : latentMatrix(size, Number(values['latent-dim']), random);
    const store = EmbeddedVectorStore.open(storeOptions(config, dataDir));
    const t0 = performance.now();
    for (let start = 0; start < size; start += 1000) {
      const faces = [];
      for (let i = start; i < Math.min(size, start + 1000); i++) {
        faces.push({ faceId: `b${i}`, subjectId: `s${i >> 2}`, embedding: matrix.subarray(i * DIM, (i + 1) * DIM) });
      }
      await store.upsertFaces(faces);
    }
    const insertS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    await store.close();
    const closeS = (performance.now() - t1) / 1000;

    // Queries: noisy copies of stored rows, then random ones; exact top-10 as truth.
    const nRandom = Math.max(100, Math.floor(nQueries / 4));
    const queries = new Float32Array((nQueries + nRandom) * DIM);
    for (let q = 0; q < nQueries; q++) queries.set(noisyCopy(matrix, Math.floor(random() * size), cos, random), q * DIM);
    queries.set(randomMatrix(nRandom, random), nQueries * DIM);
    const truth = usearch.exactSearch(matrix, queries, DIM, 10, usearch.MetricKind.IP, 0) as BatchMatches;
    const truthRows = Int32Array.from(truth.keys, Number);
    writeFileSync(join(root, 'queries.bin'), Buffer.from(queries.buffer));
    writeFileSync(join(root, 'truth.bin'), Buffer.from(truthRows.buffer));

    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--phase', 'search', '--dir', root, '--sizes', String(size), '--queries', String(nQueries)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: process.env },
    );
    const result = JSON.parse(child.stdout.trim().split('\n').pop()!);
    console.log(
      JSON.stringify({ size, insertPerS: Math.round(size / insertS), insertS: +insertS.toFixed(1), closeSaveS: +closeS.toFixed(2), ...result }),
    );
    if (!values.keep) rmSync(dataDir, { recursive: true, force: true });
  }
  if (!values.keep) rmSync(root, { recursive: true, force: true });
}

async function search(): Promise<void> {
  const config = loadConfig({ env: process.env }).store;
  const root = values.dir!;
  const size = parseSize(values.sizes!);
  const nQueries = Number(values.queries);
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const store = EmbeddedVectorStore.open(storeOptions(config, join(root, `n${size}`)));
  const startupS = (performance.now() - t0) / 1000;
  const rssMiB = Math.round((process.memoryUsage().rss - rssBefore) / 2 ** 20);
  const qbuf = readFileSync(join(root, 'queries.bin'));
  const queries = new Float32Array(qbuf.buffer, qbuf.byteOffset, qbuf.byteLength / 4);
  const tbuf = readFileSync(join(root, 'truth.bin'));
  const truth = new Int32Array(tbuf.buffer, tbuf.byteOffset, tbuf.byteLength / 4);
  const total = queries.length / DIM;

  const run = async (from: number, to: number, k: number) => {
    const ms: number[] = [];
    let hits = 0;
    for (let q = from; q < to; q++) {
      const query = queries.slice(q * DIM, (q + 1) * DIM);
      const t = performance.now();
      const found = await store.search(query, { k });
      ms.push(performance.now() - t);
      const want = new Set(Array.from(truth.subarray(q * 10, q * 10 + k), (r) => `b${r}`));
      hits += found.filter((f) => want.has(f.faceId)).length;
    }
    return { p50: +percentile(ms, 0.5).toFixed(3), p99: +percentile(ms, 0.99).toFixed(3), recall: +(hits / ((to - from) * k)).toFixed(4) };
  };
  await run(0, Math.min(50, nQueries), 10); // warm-up
  const k1 = await run(0, nQueries, 1);
  const k10 = await run(0, nQueries, 10);
  const r1 = await run(nQueries, total, 1);
  const r10 = await run(nQueries, total, 10);
  const mode = (await store.stats()).searchMode;
  await store.close();
  console.log(
    JSON.stringify({
      mode,
      startupS: +startupS.toFixed(2),
      storeRssMiB: rssMiB,
      k1: { p50Ms: k1.p50, p99Ms: k1.p99, recall1: k1.recall },
      k10: { p50Ms: k10.p50, p99Ms: k10.p99, recall10: k10.recall },
      randomQueries: { recall1: r1.recall, recall10: r10.recall, k10p50Ms: r10.p50 },
    }),
  );
}

await (values.phase === 'search' ? search() : build());
