import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideBatch, type BatchPolicyConfig, type PolicyInput } from './policy.js';

const config: BatchPolicyConfig = { maxBatchSize: 8, maxQueueDelayMs: 5, queueTimeoutMs: 100 };

function input(overrides: Partial<PolicyInput> & { waiting?: number; oldestAtMs?: number }): PolicyInput {
  const waiting = overrides.waiting ?? 0;
  return {
    queue: waiting > 0 ? { waitingCount: waiting, oldestEnqueuedAtMs: overrides.oldestAtMs ?? 0 } : { waitingCount: 0 },
    nowMs: 0,
    config,
    inflightBatches: 0,
    maxInflightBatches: 1,
    ...overrides,
  };
}

describe('decideBatch', () => {
  it('is idle with an empty queue', () => {
    assert.deepEqual(decideBatch(input({})), { kind: 'idle' });
  });

  it('sends a full batch at once, even before the delay', () => {
    assert.deepEqual(decideBatch(input({ waiting: 8, nowMs: 0 })), { kind: 'send', count: 8 });
    assert.deepEqual(decideBatch(input({ waiting: 20, nowMs: 1 })), { kind: 'send', count: 8 });
  });

  it('waits for the rest of the delay when the batch is not full', () => {
    assert.deepEqual(decideBatch(input({ waiting: 3, oldestAtMs: 10, nowMs: 12 })), { kind: 'wait', ms: 3 });
  });

  it('sends what is there once the oldest item has waited maxQueueDelayMs', () => {
    assert.deepEqual(decideBatch(input({ waiting: 3, oldestAtMs: 10, nowMs: 15 })), { kind: 'send', count: 3 });
    assert.deepEqual(decideBatch(input({ waiting: 3, oldestAtMs: 10, nowMs: 40 })), { kind: 'send', count: 3 });
  });

  it('sends immediately with maxQueueDelayMs 0', () => {
    const zero = { ...config, maxQueueDelayMs: 0 };
    assert.deepEqual(decideBatch(input({ waiting: 2, nowMs: 0, config: zero })), { kind: 'send', count: 2 });
  });

  it('with maxBatchSize 1 sends each item alone, at once', () => {
    const one = { ...config, maxBatchSize: 1 };
    assert.deepEqual(decideBatch(input({ waiting: 1, config: one })), { kind: 'send', count: 1 });
    assert.deepEqual(decideBatch(input({ waiting: 5, config: one })), { kind: 'send', count: 1 });
  });

  it('sends the largest preferred size reached without waiting', () => {
    const preferred = { ...config, preferredBatchSizes: [2, 4] };
    assert.deepEqual(decideBatch(input({ waiting: 5, config: preferred })), { kind: 'send', count: 4 });
    assert.deepEqual(decideBatch(input({ waiting: 1, oldestAtMs: 0, nowMs: 1, config: preferred })), { kind: 'wait', ms: 4 });
  });

  it('sends nothing while every instance is busy, but wakes for the queue timeout', () => {
    const busy = { inflightBatches: 1, maxInflightBatches: 1 };
    assert.deepEqual(decideBatch(input({ waiting: 8, oldestAtMs: 0, nowMs: 40, ...busy })), { kind: 'wait', ms: 60 });
    const noTimeout = { maxBatchSize: 8, maxQueueDelayMs: 5 };
    assert.deepEqual(decideBatch(input({ waiting: 8, config: noTimeout, ...busy })), { kind: 'idle' });
    assert.deepEqual(decideBatch(input({ waiting: 8, inflightBatches: 1, maxInflightBatches: 2 })), { kind: 'send', count: 8 });
  });

  it('never waits past the queue timeout', () => {
    const long = { ...config, maxQueueDelayMs: 500 };
    assert.deepEqual(decideBatch(input({ waiting: 1, oldestAtMs: 0, nowMs: 30, config: long })), { kind: 'wait', ms: 70 });
  });

  it('is idle after stop', () => {
    assert.deepEqual(decideBatch(input({ waiting: 8, stopped: true })), { kind: 'idle' });
  });
});
