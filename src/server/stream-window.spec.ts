import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { forEachConcurrently, mapInOrder } from './stream-window.js';

/** A request stream the test feeds by hand; `end()` half-closes it. */
function pushSource<T>() {
  const queue: T[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  let reads = 0;
  const source: AsyncIterable<T> = {
    async *[Symbol.asyncIterator]() {
      while (true) {
        if (queue.length > 0) {
          reads++;
          yield queue.shift()!;
        } else if (ended) return;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
  return {
    source,
    push(item: T) {
      queue.push(item);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    get reads() {
      return reads;
    },
  };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('mapInOrder', () => {
  it('emits a result as soon as it is ready, before the next request arrives', async () => {
    const input = pushSource<number>();
    const emitted: number[] = [];
    const done = mapInOrder(input.source, { depth: 2, signal: new AbortController().signal }, async (n) => n * 10, async (r) => void emitted.push(r));
    input.push(1);
    await sleep(5);
    assert.deepEqual(emitted, [10]);
    input.push(2);
    input.end();
    await done;
    assert.deepEqual(emitted, [10, 20]);
  });

  it('keeps request order when later work finishes first', async () => {
    const input = pushSource<number>();
    const gates = [deferred<number>(), deferred<number>(), deferred<number>()];
    const emitted: number[] = [];
    const done = mapInOrder(input.source, { depth: 3, signal: new AbortController().signal }, (n) => gates[n]!.promise, async (r) => void emitted.push(r));
    [0, 1, 2].forEach((n) => input.push(n));
    input.end();
    await sleep(5);
    gates[2]!.resolve(2);
    gates[1]!.resolve(1);
    await sleep(5);
    assert.deepEqual(emitted, []);
    gates[0]!.resolve(0);
    await done;
    assert.deepEqual(emitted, [0, 1, 2]);
  });

  it('reads no further than depth requests ahead of what was emitted', async () => {
    const input = pushSource<number>();
    const gate = deferred<void>();
    const done = mapInOrder(input.source, { depth: 2, signal: new AbortController().signal }, async (n) => n, () => gate.promise);
    for (let i = 0; i < 10; i++) input.push(i);
    input.end();
    await sleep(10);
    assert.equal(input.reads, 2);
    gate.resolve();
    await done;
    assert.equal(input.reads, 10);
  });

  it('rejects with the abort reason while work is in flight, leaving no unhandled rejection', async () => {
    const input = pushSource<number>();
    const controller = new AbortController();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      // Both pieces of work reject once the call is aborted, as the pipeline does.
      const work = () => new Promise<number>((_resolve, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason)));
      const done = mapInOrder(input.source, { depth: 2, signal: controller.signal }, work, async () => {});
      input.push(1);
      input.push(2);
      await sleep(5);
      controller.abort(new Error('cancelled'));
      await assert.rejects(done, /cancelled/);
      await sleep(10);
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('stops reading when emitting fails, without waiting for the client to send more', async () => {
    const input = pushSource<number>();
    const done = mapInOrder(input.source, { depth: 2, signal: new AbortController().signal }, async (n) => n, async () => {
      throw new Error('client not reading');
    });
    input.push(1);
    await assert.rejects(done, /client not reading/);
  });
});

describe('forEachConcurrently', () => {
  it('runs at most depth tasks at once and waits for all', async () => {
    const input = pushSource<number>();
    let running = 0;
    let most = 0;
    const done = forEachConcurrently(input.source, { depth: 3, signal: new AbortController().signal }, async () => {
      most = Math.max(most, ++running);
      await sleep(5);
      running--;
    });
    for (let i = 0; i < 12; i++) input.push(i);
    input.end();
    await done;
    assert.equal(most, 3);
    assert.equal(running, 0);
  });

  it('lets running tasks settle, then rejects with the first failure', async () => {
    const input = pushSource<number>();
    const settled: number[] = [];
    const done = forEachConcurrently(input.source, { depth: 4, signal: new AbortController().signal }, async (n) => {
      await sleep(n === 0 ? 1 : 10);
      settled.push(n);
      if (n === 0) throw new Error('item 0 failed');
    });
    [0, 1, 2].forEach((n) => input.push(n));
    await assert.rejects(done, /item 0 failed/);
    assert.deepEqual(settled.sort(), [0, 1, 2]);
  });

  it('rejects with a source error', async () => {
    async function* failing() {
      yield 1;
      throw new Error('too many items');
    }
    await assert.rejects(forEachConcurrently(failing(), { depth: 2, signal: new AbortController().signal }, async () => {}), /too many items/);
  });
});
