/**
 * The bounded FIFO where items wait for a batch.
 *
 * Each entry owns its caller's promise. The queue rejects at once when full
 * (backpressure instead of unbounded memory), expires items older than the
 * queue timeout, and drops items whose AbortSignal fires, so cancelled work
 * never reaches the model. Once `take()` hands an entry to a batch it is no
 * longer cancellable: the model run cannot be interrupted half-way.
 */
import { FacerecError, isFacerecError } from '../errors.js';
import type { QueueSnapshot } from './policy.js';

export interface QueueEntry<I, O> {
  readonly item: I;
  readonly context: unknown;
  readonly enqueuedAtMs: number;
  resolve(value: O): void;
  reject(error: unknown): void;
}

export interface RequestQueueOptions {
  readonly maxQueueSize: number;
  readonly queueTimeoutMs: number;
  /** Called after an aborted entry left the queue, so the loop can re-plan. */
  readonly onRemoved?: () => void;
}

export interface AddOptions {
  readonly signal?: AbortSignal;
  readonly context?: unknown;
}

interface Waiting<I, O> extends QueueEntry<I, O> {
  detach(): void;
}

/** A FacerecError for an aborted signal: its own reason when that is one (e.g. DEADLINE_EXCEEDED). */
export function abortError(signal: AbortSignal): FacerecError {
  const reason: unknown = signal.reason;
  return isFacerecError(reason) ? reason : new FacerecError('CANCELLED', undefined, { cause: reason });
}

export class RequestQueue<I, O> {
  private readonly entries: Waiting<I, O>[] = [];

  constructor(private readonly options: RequestQueueOptions) {}

  get size(): number {
    return this.entries.length;
  }

  snapshot(): QueueSnapshot {
    const oldest = this.entries[0];
    return oldest === undefined
      ? { waitingCount: 0 }
      : { waitingCount: this.entries.length, oldestEnqueuedAtMs: oldest.enqueuedAtMs };
  }

  /** Queues an item; the promise settles when its batch does, or on full / abort / timeout. */
  add(item: I, nowMs: number, options: AddOptions = {}): Promise<O> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.entries.length >= this.options.maxQueueSize) {
      return Promise.reject(
        new FacerecError('QUEUE_FULL', `${this.entries.length} waiting`, {
          details: { maxQueueSize: this.options.maxQueueSize },
        }),
      );
    }
    return new Promise<O>((resolve, reject) => {
      const onAbort = (): void => {
        if (!this.remove(entry)) return;
        reject(abortError(signal!));
        this.options.onRemoved?.();
      };
      const entry: Waiting<I, O> = {
        item,
        context: options.context,
        enqueuedAtMs: nowMs,
        resolve,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.entries.push(entry);
    });
  }

  /** Hands the oldest `count` entries to a batch; they can no longer be cancelled. */
  take(count: number): QueueEntry<I, O>[] {
    const taken = this.entries.splice(0, count);
    for (const entry of taken) entry.detach();
    return taken;
  }

  /** Rejects entries that waited `queueTimeoutMs` or longer; returns how many. */
  expire(nowMs: number): number {
    let count = 0;
    // FIFO with one timeout for all: expired entries are a prefix.
    while (this.entries.length > 0 && nowMs - this.entries[0]!.enqueuedAtMs >= this.options.queueTimeoutMs) {
      const entry = this.entries.shift()!;
      entry.detach();
      entry.reject(
        new FacerecError('QUEUE_TIMEOUT', `waited ${nowMs - entry.enqueuedAtMs} ms`, {
          details: { queueTimeoutMs: this.options.queueTimeoutMs },
        }),
      );
      count++;
    }
    return count;
  }

  /** Rejects every waiting entry with `error` (used by stop()). */
  rejectAll(error: unknown): void {
    for (const entry of this.take(this.entries.length)) entry.reject(error);
  }

  private remove(entry: Waiting<I, O>): boolean {
    const index = this.entries.indexOf(entry);
    if (index < 0) return false;
    this.entries.splice(index, 1);
    entry.detach();
    return true;
  }
}
