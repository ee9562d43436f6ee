import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { processFrames } from './frame-window.js';

/** Work the test finishes by hand, so the order of events (not time) decides the outcome. */
function manualWork() {
  const pending = new Map<number, () => void>();
  let working = 0;
  let highest = 0;
  return {
    work: async (n: number) => {
      working++;
      highest = Math.max(highest, working);
      await new Promise<void>((resolve) => pending.set(n, resolve));
      working--;
      return `done ${n}`;
    },
    finish(n: number) {
      pending.get(n)?.();
      pending.delete(n);
    },
    started: () => [...pending.keys()],
    get highest() {
      return highest;
    },
  };
}

async function* frames(n: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) yield i;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('processFrames', () => {
  it('latest: drops the older waiting frames while the window is full, answers in order, never works on more than depth', async () => {
    const manual = manualWork();
    const out: string[] = [];
    const done = processFrames(frames(6), { depth: 2, maxUnanswered: 100, signal: new AbortController().signal, dropOld: () => true }, manual.work, (n) => `skipped ${n}`, async (r) => void out.push(r));
    await tick();
    assert.deepEqual(manual.started(), [0, 1]);
    manual.finish(0);
    await tick();
    // Frames 2..4 were replaced by newer ones while they waited; 5, the newest, took the free slot.
    assert.deepEqual(manual.started(), [1, 5]);
    manual.finish(1);
    manual.finish(5);
    await done;
    assert.deepEqual(out, ['done 0', 'done 1', 'skipped 2', 'skipped 3', 'skipped 4', 'done 5']);
    assert.equal(manual.highest, 2);
  });

  it('process-all: stops reading while the window is full, so every frame is worked on', async () => {
    const manual = manualWork();
    const out: string[] = [];
    let reads = 0;
    async function* counted() {
      for await (const n of frames(4)) {
        reads++;
        yield n;
      }
    }
    const done = processFrames(counted(), { depth: 1, maxUnanswered: 100, signal: new AbortController().signal, dropOld: () => false }, manual.work, (n) => `skipped ${n}`, async (r) => void out.push(r));
    await tick();
    // One being worked on, one read and waiting: no further read.
    assert.equal(reads, 2);
    for (let n = 0; n < 4; n++) {
      manual.finish(n);
      await tick();
    }
    await done;
    assert.deepEqual(out, ['done 0', 'done 1', 'done 2', 'done 3']);
    assert.equal(manual.highest, 1);
  });

  it('stops, aborting the work and waiting for it, when writing a result fails', async () => {
    const stops: unknown[] = [];
    let working = 0;
    const work = async (n: number) => {
      working++;
      await new Promise((resolve) => setImmediate(resolve));
      working--;
      return n;
    };
    await assert.rejects(
      processFrames(frames(5), { depth: 2, maxUnanswered: 10, signal: new AbortController().signal, dropOld: () => false, onStop: (r) => stops.push(r) }, work, (n) => n, async () => {
        throw new Error('client gone');
      }),
      /client gone/,
    );
    assert.equal(stops.length, 1);
    assert.equal(working, 0, 'no work left running');
  });
});
