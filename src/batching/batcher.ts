/**
 * The generic dynamic batcher: items from concurrent callers go into one
 * bounded queue, and a small timer loop asks `decideBatch` whether to send a
 * batch now, wait, or do nothing. One batcher per model, as Triton runs one
 * dynamic batcher per model; `runner.ts` puts an InferenceSession behind it.
 */
import { FacerecError } from '../errors.js';
import { decideBatch } from './policy.js';
import { RequestQueue, type QueueEntry } from './queue.js';

/** Time source and timers, injected so tests can run on a fake clock. */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** What one batch did, for metrics and tracing. */
export interface BatchInfo {
  readonly size: number;
  /** Per item, in batch order: ms from enqueue to the batch being sent. */
  readonly queueWaitMs: readonly number[];
  readonly runMs: number;
  /** Per item, in batch order: the opaque `context` given to enqueue (e.g. a request span). */
  readonly contexts: readonly unknown[];
  /** Set when the whole batch failed. */
  readonly error?: unknown;
}

export interface BatcherOptions<I, O> {
  readonly maxBatchSize: number;
  readonly maxQueueDelayMs: number;
  readonly preferredBatchSizes?: readonly number[];
  readonly maxQueueSize: number;
  readonly queueTimeoutMs: number;
  /** Batches that may run at once (Triton's instance count); default 1. */
  readonly maxInflightBatches?: number;
  /** Runs one batch; an Error in the result array fails only its own item. */
  runBatch(items: I[]): Promise<O[] | Array<O | Error>>;
  onBatch?(info: BatchInfo): void;
  clock?: Clock;
}

export interface EnqueueOptions {
  readonly signal?: AbortSignal;
  /** Opaque per-item value handed back in `BatchInfo.contexts`. */
  readonly context?: unknown;
}

export interface Batcher<I, O> {
  enqueue(item: I, options?: EnqueueOptions): Promise<O>;
  readonly queueDepth: number;
  readonly inflightCount: number;
  /** Rejects waiting and future items with SHUTTING_DOWN; resolves once in-flight batches finish. */
  stop(): Promise<void>;
}

export function createBatcher<I, O>(options: BatcherOptions<I, O>): Batcher<I, O> {
  const clock = options.clock ?? systemClock;
  const maxInflightBatches = options.maxInflightBatches ?? 1;
  const policyConfig = {
    maxBatchSize: options.maxBatchSize,
    maxQueueDelayMs: options.maxQueueDelayMs,
    preferredBatchSizes: options.preferredBatchSizes,
    queueTimeoutMs: options.queueTimeoutMs,
  };
  const queue = new RequestQueue<I, O>({
    maxQueueSize: options.maxQueueSize,
    queueTimeoutMs: options.queueTimeoutMs,
    onRemoved: () => plan(),
  });
  let inflight = 0;
  let stopped = false;
  let timer: unknown;
  let drained: (() => void) | undefined;

  // The timer loop: expire, decide, act; re-run on enqueue, abort, batch end and timer.
  function plan(): void {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
    for (;;) {
      const nowMs = clock.now();
      queue.expire(nowMs);
      const decision = decideBatch({
        queue: queue.snapshot(),
        nowMs,
        config: policyConfig,
        inflightBatches: inflight,
        maxInflightBatches,
        stopped,
      });
      if (decision.kind === 'idle') return;
      if (decision.kind === 'wait') {
        timer = clock.setTimeout(plan, decision.ms);
        return;
      }
      void runOne(queue.take(decision.count), nowMs);
    }
  }

  async function runOne(entries: QueueEntry<I, O>[], sentAtMs: number): Promise<void> {
    inflight++;
    const startMs = clock.now();
    let results: Array<O | Error> | undefined;
    let error: unknown;
    try {
      // The hop to a microtask keeps a synchronous throw inside runBatch from escaping plan().
      results = await Promise.resolve().then(() => options.runBatch(entries.map((e) => e.item)));
      if (!Array.isArray(results) || results.length !== entries.length) {
        throw new FacerecError('MODEL_FAILED', `runBatch returned ${results?.length} results for ${entries.length} items`);
      }
    } catch (cause) {
      error = cause;
    }
    const runMs = clock.now() - startMs;
    inflight--;
    entries.forEach((entry, i) => {
      const result = results?.[i];
      if (error !== undefined) entry.reject(error);
      else if (result instanceof Error) entry.reject(result);
      else entry.resolve(result as O);
    });
    try {
      options.onBatch?.({
        size: entries.length,
        queueWaitMs: entries.map((e) => sentAtMs - e.enqueuedAtMs),
        runMs,
        contexts: entries.map((e) => e.context),
        ...(error !== undefined ? { error } : {}),
      });
    } catch {
      // An observer bug must not stall the batcher.
    }
    if (inflight === 0) drained?.();
    plan();
  }

  return {
    enqueue(item, enqueueOptions) {
      if (stopped) return Promise.reject(new FacerecError('SHUTTING_DOWN'));
      const promise = queue.add(item, clock.now(), enqueueOptions);
      plan();
      return promise;
    },
    get queueDepth() {
      return queue.size;
    },
    get inflightCount() {
      return inflight;
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      queue.rejectAll(new FacerecError('SHUTTING_DOWN'));
      if (inflight === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const previous = drained;
        drained = () => {
          previous?.();
          resolve();
        };
      });
    },
  };
}
