export { decideBatch } from './policy.js';
export type { BatchDecision, BatchPolicyConfig, PolicyInput, QueueSnapshot } from './policy.js';
export { RequestQueue, abortError } from './queue.js';
export type { AddOptions, QueueEntry, RequestQueueOptions } from './queue.js';
export { createBatcher, systemClock } from './batcher.js';
export type { BatchInfo, Batcher, BatcherOptions, Clock, EnqueueOptions } from './batcher.js';
export { createBatchedRunner } from './runner.js';
export type { BatchedInferOptions, BatchedRunner, BatchedRunnerOptions, BatchedRunnerStats } from './runner.js';
