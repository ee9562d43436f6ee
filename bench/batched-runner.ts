/**
 * Model-level batching gain: 64 random embedder items pushed through the
 * batched runner at once, with maxBatchSize 1 (batching off) and 8.
 * Usage: npm run bench:runner -- [--items 64] [--threads 2] [--rounds 3]
 * The end-to-end server benchmark is `npm run bench:batching`; this one
 * isolates the runner so the two can be compared.
 */
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { packageRoot } from '../src/package-root.js';
import { OrtSession } from '../src/pipeline/session.js';
import { createBatchedRunner } from '../src/batching/index.js';
import { numberFlag, parseBenchArgs } from './cli.js';

const { itemCount, threads, rounds } = parseBenchArgs(
  { script: 'bench:runner', summary: 'Model-level batching gain: random embedder items through the batched runner with maxBatchSize 1 and 8.' },
  {
    items: { type: 'string', default: '64', valueName: 'n', description: 'embedder items pushed at once' },
    threads: { type: 'string', default: '2', valueName: 'n', description: 'ONNX Runtime intra-op threads' },
    rounds: { type: 'string', default: '3', valueName: 'n', description: 'rounds; the best of them is reported' },
  },
  (v) => ({
    itemCount: numberFlag('items', v.items, 1, 100_000, true),
    threads: numberFlag('threads', v.threads, 1, 256, true),
    rounds: numberFlag('rounds', v.rounds, 1, 100, true),
  }),
);
const session = await OrtSession.create({
  name: 'embedder',
  path: join(packageRoot(), 'models', 'build', 'embedder.onnx'),
  itemDims: [112, 112, 3],
  intraOpThreads: threads,
});
const items = Array.from({ length: itemCount }, () => new Uint8Array(randomBytes(112 * 112 * 3)));

async function measure(maxBatchSize: number): Promise<number> {
  const runner = createBatchedRunner(session, {
    maxBatchSize,
    maxQueueDelayMs: 2,
    maxQueueSize: itemCount,
    queueTimeoutMs: 600_000,
    maxInflightBatches: 1,
  });
  const start = performance.now();
  await Promise.all(items.map((item) => runner.infer(item)));
  const seconds = (performance.now() - start) / 1000;
  await runner.stop();
  return itemCount / seconds;
}

await measure(8); // warm-up: first runs allocate ORT arenas
const sizes = [1, 8];
const best: Record<number, number> = {};
for (let round = 0; round < rounds; round++) {
  for (const size of sizes) best[size] = Math.max(best[size] ?? 0, await measure(size));
}
for (const size of sizes) console.log(`maxBatchSize ${size}: ${best[size]!.toFixed(1)} items/s (best of ${rounds})`);
console.log(`gain: ${(best[8]! / best[1]!).toFixed(2)}x (${itemCount} items, ${threads} ORT threads)`);
await session.close();
