import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FacerecError, isFacerecError } from '../errors.js';
import { createBatcher, type BatchInfo, type BatcherOptions } from './batcher.js';
import { FakeClock, settle } from './fake-clock.js';

type Run = (items: number[]) => Promise<Array<string | Error>>;

function setup(overrides: Partial<BatcherOptions<number, string>> = {}, run?: Run) {
  const clock = new FakeClock();
  const batches: number[][] = [];
  const infos: BatchInfo[] = [];
  const batcher = createBatcher<number, string>({
    maxBatchSize: 4,
    maxQueueDelayMs: 5,
    maxQueueSize: 16,
    queueTimeoutMs: 100,
    clock,
    runBatch: async (items) => {
      batches.push([...items]);
      return run ? run(items) : items.map((n) => `r${n}`);
    },
    onBatch: (info) => infos.push(info),
    ...overrides,
  });
  return { clock, batches, infos, batcher };
}

/** A promise whose outcome is recorded without an unhandled rejection. */
function track<T>(promise: Promise<T>) {
  const state: { value?: T; error?: unknown; settled: boolean } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { value, settled: true }),
    (error) => Object.assign(state, { error, settled: true }),
  );
  return state;
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const code = (error: unknown) => (isFacerecError(error) ? error.code : error);

describe('createBatcher', () => {
  it('gathers concurrent items into one batch once the delay expires', async () => {
    const { clock, batches, infos, batcher } = setup();
    const results = [1, 2, 3].map((n) => track(batcher.enqueue(n, { context: `ctx${n}` })));
    await clock.advance(4);
    assert.equal(batches.length, 0);
    assert.equal(batcher.queueDepth, 3);
    await clock.advance(1);
    assert.deepEqual(batches, [[1, 2, 3]]);
    assert.deepEqual(results.map((r) => r.value), ['r1', 'r2', 'r3']);
    assert.equal(infos[0]!.size, 3);
    assert.deepEqual(infos[0]!.queueWaitMs, [5, 5, 5]);
    assert.deepEqual(infos[0]!.contexts, ['ctx1', 'ctx2', 'ctx3']);
  });

  it('sends a full batch at once, without waiting for the delay', async () => {
    const { batches, batcher } = setup();
    const results = [1, 2, 3, 4, 5].map((n) => track(batcher.enqueue(n)));
    await settle();
    assert.deepEqual(batches, [[1, 2, 3, 4]]);
    assert.deepEqual(results.slice(0, 4).map((r) => r.value), ['r1', 'r2', 'r3', 'r4']);
    assert.equal(results[4]!.settled, false);
  });

  it('with maxBatchSize 1 runs each item alone', async () => {
    const { batches, batcher } = setup({ maxBatchSize: 1, maxInflightBatches: 4 });
    await Promise.all([1, 2, 3].map((n) => batcher.enqueue(n)));
    assert.deepEqual(batches, [[1], [2], [3]]);
  });

  it('rejects every item of a failed batch, and only those', async () => {
    let calls = 0;
    const { clock, batcher } = setup({}, async (items) => {
      if (calls++ === 0) throw new FacerecError('MODEL_FAILED', 'boom');
      return items.map((n) => `r${n}`);
    });
    const first = [1, 2].map((n) => track(batcher.enqueue(n)));
    await clock.advance(5);
    const second = [3].map((n) => track(batcher.enqueue(n)));
    await clock.advance(5);
    assert.deepEqual(first.map((r) => code(r.error)), ['MODEL_FAILED', 'MODEL_FAILED']);
    assert.equal(second[0]!.value, 'r3');
  });

  it('sends a per-item error only to its item', async () => {
    const { clock, batcher } = setup({}, async (items) => items.map((n) => (n === 2 ? new Error('bad item') : `r${n}`)));
    const results = [1, 2, 3].map((n) => track(batcher.enqueue(n)));
    await clock.advance(5);
    assert.equal(results[0]!.value, 'r1');
    assert.equal((results[1]!.error as Error).message, 'bad item');
    assert.equal(results[2]!.value, 'r3');
  });

  it('returns results to the right caller when batches finish out of order', async () => {
    const gates = [deferred<void>(), deferred<void>()];
    let call = 0;
    const { batcher } = setup({ maxBatchSize: 2, maxInflightBatches: 2 }, async (items) => {
      await gates[call++]!.promise;
      return items.map((n) => `r${n}`);
    });
    const results = [1, 2, 3, 4].map((n) => track(batcher.enqueue(n)));
    await settle();
    assert.equal(batcher.inflightCount, 2);
    gates[1]!.resolve();
    await settle();
    assert.deepEqual(results.map((r) => r.value), [undefined, undefined, 'r3', 'r4']);
    gates[0]!.resolve();
    await settle();
    assert.deepEqual(results.map((r) => r.value), ['r1', 'r2', 'r3', 'r4']);
  });

  it('drops an aborted item before it reaches runBatch', async () => {
    const { clock, batches, batcher } = setup();
    const controller = new AbortController();
    const deadline = new AbortController();
    const kept = track(batcher.enqueue(1));
    const aborted = track(batcher.enqueue(2, { signal: controller.signal }));
    const timedOut = track(batcher.enqueue(3, { signal: deadline.signal }));
    controller.abort();
    deadline.abort(new FacerecError('DEADLINE_EXCEEDED'));
    await settle();
    assert.equal(code(aborted.error), 'CANCELLED');
    assert.equal(code(timedOut.error), 'DEADLINE_EXCEEDED');
    await clock.advance(5);
    assert.deepEqual(batches, [[1]]);
    assert.equal(kept.value, 'r1');
    const already = track(batcher.enqueue(4, { signal: controller.signal }));
    await settle();
    assert.equal(code(already.error), 'CANCELLED');
    assert.equal(batcher.queueDepth, 0);
  });

  it('rejects with QUEUE_FULL at once when the queue is full', async () => {
    const gate = deferred<void>();
    const { batcher } = setup({ maxBatchSize: 2, maxQueueSize: 3 }, async (items) => {
      await gate.promise;
      return items.map((n) => `r${n}`);
    });
    const running = [1, 2].map((n) => track(batcher.enqueue(n)));
    const waiting = [3, 4, 5].map((n) => track(batcher.enqueue(n)));
    const overflow = track(batcher.enqueue(6));
    await settle();
    assert.equal(code(overflow.error), 'QUEUE_FULL');
    assert.equal(waiting.some((r) => r.settled), false);
    gate.resolve();
    await settle();
    assert.deepEqual(running.map((r) => r.value), ['r1', 'r2']);
  });

  it('rejects items that wait longer than queueTimeoutMs with QUEUE_TIMEOUT', async () => {
    const gate = deferred<void>();
    const { clock, batcher } = setup({ maxBatchSize: 1 }, async (items) => {
      await gate.promise;
      return items.map((n) => `r${n}`);
    });
    const running = track(batcher.enqueue(1));
    const stuck = track(batcher.enqueue(2));
    await clock.advance(99);
    assert.equal(stuck.settled, false);
    await clock.advance(1);
    assert.equal(code(stuck.error), 'QUEUE_TIMEOUT');
    gate.resolve();
    await settle();
    assert.equal(running.value, 'r1');
  });

  it('stop() rejects waiting and future items with SHUTTING_DOWN and lets running batches finish', async () => {
    const gate = deferred<void>();
    const { clock, batcher } = setup({ maxBatchSize: 2 }, async (items) => {
      await gate.promise;
      return items.map((n) => `r${n}`);
    });
    const running = [1, 2].map((n) => track(batcher.enqueue(n)));
    const waiting = track(batcher.enqueue(3));
    await settle();
    const stopped = track(batcher.stop());
    await settle();
    assert.equal(code(waiting.error), 'SHUTTING_DOWN');
    assert.equal(code((await batcher.enqueue(4).catch((e: unknown) => e)) as unknown), 'SHUTTING_DOWN');
    assert.equal(stopped.settled, false);
    gate.resolve();
    await settle();
    assert.deepEqual(running.map((r) => r.value), ['r1', 'r2']);
    assert.equal(stopped.settled, true);
    assert.equal(clock.pendingTimers, 0);
  });

  it('reports a batch error to onBatch and survives a throwing observer', async () => {
    const { clock, batcher } = setup({ onBatch: () => { throw new Error('observer bug'); } }, async () => {
      throw new Error('run failed');
    });
    const failed = track(batcher.enqueue(1));
    await clock.advance(5);
    assert.equal((failed.error as Error).message, 'run failed');
    const infos: BatchInfo[] = [];
    const second = setup({ onBatch: (info) => infos.push(info) }, async () => [] as string[]);
    const wrongCount = track(second.batcher.enqueue(1));
    await second.clock.advance(5);
    assert.equal(code(wrongCount.error), 'MODEL_FAILED');
    assert.equal(code(infos[0]!.error), 'MODEL_FAILED');
  });
});
