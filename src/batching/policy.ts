/**
 * The dynamic-batching decision, as a pure function.
 *
 * Triton's `GetDynamicBatch` decides and mutates shared counters in one
 * 180-line loop; here the decision takes a snapshot of the queue, the time and
 * the config, and says what to do. The timer loop in `batcher.ts` acts on it.
 * Keeping it pure lets every rule be tested with a fake clock.
 */

/** What the batcher knows about its queue at one instant. */
export interface QueueSnapshot {
  /** Items waiting (aborted and expired ones already removed). */
  readonly waitingCount: number;
  /** When the oldest waiting item was enqueued (clock ms); absent when none wait. */
  readonly oldestEnqueuedAtMs?: number;
}

/** The Triton-named settings the decision depends on. */
export interface BatchPolicyConfig {
  readonly maxBatchSize: number;
  readonly maxQueueDelayMs: number;
  /** Sizes worth sending at once without waiting for the delay (Triton's preferred_batch_size). */
  readonly preferredBatchSizes?: readonly number[];
  /** Longest an item may wait; the loop must wake by then to expire it. */
  readonly queueTimeoutMs?: number;
}

export interface PolicyInput {
  readonly queue: QueueSnapshot;
  readonly nowMs: number;
  readonly config: BatchPolicyConfig;
  readonly inflightBatches: number;
  readonly maxInflightBatches: number;
  /** After stop() nothing more is sent. */
  readonly stopped?: boolean;
}

export type BatchDecision =
  | { readonly kind: 'send'; readonly count: number }
  | { readonly kind: 'wait'; readonly ms: number }
  | { readonly kind: 'idle' };

const IDLE: BatchDecision = { kind: 'idle' };

export function decideBatch(input: PolicyInput): BatchDecision {
  const { queue, nowMs, config } = input;
  if (input.stopped || queue.waitingCount === 0 || queue.oldestEnqueuedAtMs === undefined) return IDLE;
  const waitedMs = Math.max(0, nowMs - queue.oldestEnqueuedAtMs);
  const untilTimeoutMs =
    config.queueTimeoutMs === undefined ? Infinity : Math.max(0, config.queueTimeoutMs - waitedMs);

  // Every instance is busy: a finished batch wakes the loop, but the oldest
  // item's queue timeout must still fire if no batch finishes first.
  if (input.inflightBatches >= input.maxInflightBatches) {
    return untilTimeoutMs === Infinity ? IDLE : { kind: 'wait', ms: untilTimeoutMs };
  }

  const maxBatchSize = Math.max(1, config.maxBatchSize);
  if (queue.waitingCount >= maxBatchSize) return { kind: 'send', count: maxBatchSize };

  const preferred = largestPreferredAtMost(config.preferredBatchSizes, queue.waitingCount, maxBatchSize);
  if (preferred > 0) return { kind: 'send', count: preferred };

  const untilDelayMs = config.maxQueueDelayMs - waitedMs;
  if (untilDelayMs <= 0) return { kind: 'send', count: queue.waitingCount };
  return { kind: 'wait', ms: Math.min(untilDelayMs, untilTimeoutMs) };
}

function largestPreferredAtMost(sizes: readonly number[] | undefined, count: number, maxBatchSize: number): number {
  let best = 0;
  for (const size of sizes ?? []) {
    if (size <= count && size <= maxBatchSize && size > best) best = size;
  }
  return best;
}
