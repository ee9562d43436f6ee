import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FacerecError, isFacerecError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { OrtSession, assembleBatch, createDirectRunner, isRegionItem, type InferenceSession, type InputBatch, type ModelItem, type RegionItem } from '../pipeline/session.js';
import { cosineSimilarity, l2Normalize } from '../pipeline/embedder.js';
import { createBatchedRunner, type BatchedRunnerOptions } from './runner.js';
import { FakeClock } from './fake-clock.js';
import type { BatchInfo } from './batcher.js';

/** A model of item shape [2, 2]: `sum` is the item's byte sum, `double` each byte times two. */
class FakeSession implements InferenceSession {
  readonly name = 'fake';
  readonly itemDims = [2, 2] as const;
  readonly batches: InputBatch[] = [];
  failNext = false;

  async run(batch: InputBatch) {
    this.batches.push({ data: Uint8Array.from(batch.data), dims: [...batch.dims] });
    if (this.failNext) {
      this.failNext = false;
      throw new FacerecError('MODEL_FAILED', 'fake');
    }
    const n = batch.dims[0]!;
    const sum = new Float32Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < 4; j++) sum[i]! += batch.data[i * 4 + j]!;
    return {
      sum: { data: sum, dims: [n, 1] },
      double: { data: Float32Array.from(batch.data, (v) => v * 2), dims: [n, 4] },
    };
  }

  async close() {}
}

const options: BatchedRunnerOptions = {
  maxBatchSize: 8,
  maxQueueDelayMs: 5,
  maxQueueSize: 64,
  queueTimeoutMs: 1000,
  maxInflightBatches: 1,
};

const item = (...bytes: number[]) => Uint8Array.from(bytes);

describe('createBatchedRunner (fake session)', () => {
  it('concatenates concurrent items into one batch and splits outputs back per caller', async () => {
    const session = new FakeSession();
    const clock = new FakeClock();
    const infos: BatchInfo[] = [];
    const runner = createBatchedRunner(session, { ...options, clock, onBatch: (i) => infos.push(i) });
    const pending = [item(1, 2, 3, 4), item(10, 20, 30, 40), item(5, 5, 5, 5)].map((x, i) =>
      runner.infer(x, { context: i }),
    );
    await clock.advance(5);
    const results = await Promise.all(pending);
    assert.equal(session.batches.length, 1);
    assert.deepEqual(session.batches[0]!.dims, [3, 2, 2]);
    assert.deepEqual([...session.batches[0]!.data], [1, 2, 3, 4, 10, 20, 30, 40, 5, 5, 5, 5]);
    assert.deepEqual(results.map((r) => [...r.sum!]), [[10], [100], [20]]);
    assert.deepEqual([...results[1]!.double!], [20, 40, 60, 80]);
    assert.deepEqual(infos[0]!.contexts, [0, 1, 2]);
    assert.deepEqual(runner.stats, { queueDepth: 0, inflightCount: 0, batchesRun: 1, itemsRun: 3 });
  });

  it('fails a wrong-sized item alone and runs the rest', async () => {
    const session = new FakeSession();
    const clock = new FakeClock();
    const runner = createBatchedRunner(session, { ...options, clock });
    const good = runner.infer(item(1, 1, 1, 1));
    const bad = runner.infer(item(1, 2, 3)).catch((e: unknown) => e);
    const good2 = runner.infer(item(2, 2, 2, 2));
    await clock.advance(5);
    assert.deepEqual([...(await good).sum!], [4]);
    assert.deepEqual([...(await good2).sum!], [8]);
    const error = await bad;
    assert.ok(isFacerecError(error, 'INVALID_ARGUMENT'));
    assert.deepEqual(session.batches[0]!.dims, [2, 2, 2]);
  });

  it('makes region items into inputs with makeInput, and fails a malformed region alone', async () => {
    const session = new FakeSession();
    const clock = new FakeClock();
    // The fake's input of a region: its first four bytes.
    const makeInput = async (region: RegionItem) => Uint8Array.from(region.region.data.subarray(0, 4));
    const runner = createBatchedRunner(session, { ...options, clock, makeInput });
    const region = (width: number, height: number, fill: number) => ({ region: { data: Buffer.alloc(width * height * 3, fill), width, height } });
    const good = runner.infer(region(2, 1, 3));
    const bad = runner.infer({ region: { data: Buffer.alloc(5), width: 2, height: 1 } }).catch((e: unknown) => e);
    const badTheta = runner.infer({ ...region(2, 1, 1), theta: new Float32Array([1, 0, 0, 1, Number.NaN, 0]) }).catch((e: unknown) => e);
    const bytes = runner.infer(item(2, 2, 2, 2));
    await clock.advance(5);
    assert.deepEqual([...(await good).sum!], [12]);
    assert.deepEqual([...(await bytes).sum!], [8]);
    assert.ok(isFacerecError(await bad, 'INVALID_ARGUMENT'));
    assert.ok(isFacerecError(await badTheta, 'INVALID_ARGUMENT'));
    assert.deepEqual(session.batches[0]!.dims, [2, 2, 2]);
  });

  it('hands regions to a session that makes inputs itself, except one too large to travel in a batch', async () => {
    const session = new FakeSession();
    const seen: ModelItem[][] = [];
    const withItems: InferenceSession = {
      name: session.name,
      itemDims: session.itemDims,
      close: () => session.close(),
      run: (batch) => session.run(batch),
      runItems: async (items) => {
        seen.push([...items]);
        return session.run(await assembleBatch(session, items, async (r) => Uint8Array.from(r.region.data.subarray(0, 4))));
      },
    };
    const clock = new FakeClock();
    let madeHere = 0;
    const makeInput = async (r: RegionItem) => (madeHere++, Uint8Array.from(r.region.data.subarray(0, 4)));
    const runner = createBatchedRunner(withItems, { ...options, clock, makeInput });
    const small = { region: { data: Buffer.alloc(2 * 2 * 3, 1), width: 2, height: 2 } };
    const side = 600;
    const large = { region: { data: Buffer.alloc(side * side * 3, 2), width: side, height: side } };
    const pending = [runner.infer(small), runner.infer(large)];
    await new Promise((r) => setImmediate(r)); // the large region's input is made before it queues
    await clock.advance(5);
    assert.deepEqual((await Promise.all(pending)).map((r) => [...r.sum!]), [[4], [8]]);
    assert.equal(madeHere, 1);
    assert.equal(seen.length, 1);
    assert.ok(isRegionItem(seen[0]![0]!) && seen[0]![1] instanceof Uint8Array);
  });

  it('rejects every item of a failed session run', async () => {
    const session = new FakeSession();
    session.failNext = true;
    const clock = new FakeClock();
    const runner = createBatchedRunner(session, { ...options, clock });
    const pending = [item(1, 1, 1, 1), item(2, 2, 2, 2)].map((x) => runner.infer(x).catch((e: unknown) => e));
    await clock.advance(5);
    for (const error of await Promise.all(pending)) assert.ok(isFacerecError(error, 'MODEL_FAILED'));
  });

  it('drops an aborted item before the session sees it, and stops with SHUTTING_DOWN', async () => {
    const session = new FakeSession();
    const clock = new FakeClock();
    const runner = createBatchedRunner(session, { ...options, clock });
    const controller = new AbortController();
    const kept = runner.infer(item(1, 1, 1, 1));
    const dropped = runner.infer(item(9, 9, 9, 9), { signal: controller.signal }).catch((e: unknown) => e);
    controller.abort();
    await clock.advance(5);
    await kept;
    assert.ok(isFacerecError(await dropped, 'CANCELLED'));
    assert.deepEqual([...session.batches[0]!.data], [1, 1, 1, 1]);
    await runner.stop();
    assert.ok(isFacerecError(await runner.infer(item(1, 1, 1, 1)).catch((e: unknown) => e), 'SHUTTING_DOWN'));
  });
});

const embedderPath = join(packageRoot(), 'models', 'build', 'embedder.onnx');

describe('createBatchedRunner (real embedder)', () => {
  // npm ci always builds the models, so a missing file is a failure, not a skip.
  it(
    'gives the same embeddings batched as one by one',
    async () => {
      const session = await OrtSession.create({ name: 'embedder', path: embedderPath, itemDims: [112, 112, 3], intraOpThreads: 2 });
      try {
        const items = Array.from({ length: 8 }, () => new Uint8Array(randomBytes(112 * 112 * 3)));
        const infos: BatchInfo[] = [];
        const batched = createBatchedRunner(session, { ...options, maxQueueDelayMs: 50, onBatch: (i) => infos.push(i) });
        const together = await Promise.all(items.map((x) => batched.infer(x)));
        await batched.stop();
        assert.deepEqual(infos.map((i) => i.size), [8]);
        const direct = createDirectRunner(session);
        for (const [i, x] of items.entries()) {
          const alone = (await direct.infer(x)).embedding!;
          const inBatch = together[i]!.embedding!;
          assert.equal(inBatch.length, 512);
          assert.ok(cosine(alone, inBatch) >= 0.99999, `item ${i}: cosine ${cosine(alone, inBatch)}`);
        }
      } finally {
        await session.close();
      }
    },
  );
});

function cosine(a: Float32Array, b: Float32Array): number {
  return cosineSimilarity(l2Normalize(a), l2Normalize(b));
}
