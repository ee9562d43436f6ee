/**
 * A manual clock for batching tests: time moves only when a test calls
 * `advance`, so delay and timeout rules are checked without real sleeps.
 */
import type { Clock } from './batcher.js';

interface Timer {
  readonly id: number;
  readonly atMs: number;
  readonly callback: () => void;
}

export class FakeClock implements Clock {
  private nowMs = 0;
  private nextId = 1;
  private timers: Timer[] = [];

  now(): number {
    return this.nowMs;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const timer = { id: this.nextId++, atMs: this.nowMs + Math.max(0, ms), callback };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward, firing due timers in order and letting promise callbacks run after each. */
  async advance(ms: number): Promise<void> {
    const targetMs = this.nowMs + ms;
    for (;;) {
      await settle();
      const due = this.timers.filter((t) => t.atMs <= targetMs).sort((a, b) => a.atMs - b.atMs || a.id - b.id)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.nowMs = Math.max(this.nowMs, due.atMs);
      due.callback();
    }
    this.nowMs = targetMs;
    await settle();
  }
}

/** Lets pending promise callbacks (and their follow-ups) run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
