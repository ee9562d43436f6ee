/**
 * Splitting one ingest job between N workers by subject: worker i of N takes
 * the subjects whose id hashes to i. Every photo of a subject goes to the same
 * worker, so no two workers ever write one subject (its payload and template),
 * and the N shards together cover the source exactly once, whatever order the
 * workers run in. Indexes count from 0, as a Kubernetes Indexed Job's
 * JOB_COMPLETION_INDEX does.
 */
import { createHash } from 'node:crypto';

import { FacerecError } from '../errors.js';

export interface Shard {
  readonly index: number;
  readonly count: number;
}

export const WHOLE_SOURCE: Shard = { index: 0, count: 1 };

/** `i/N`, e.g. `0/4` … `3/4`. */
export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = match ? Number(match[1]) : Number.NaN;
  const count = match ? Number(match[2]) : Number.NaN;
  if (!match || count < 1 || index >= count) {
    throw new FacerecError('INVALID_ARGUMENT', `--shard takes i/N with 0 ≤ i < N (e.g. 0/4), not "${text}"`);
  }
  return { index, count };
}

export function shardLabel(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

/** The shard a subject belongs to: a hash, so shards are even in size and independent of the order subjects are read. */
export function shardOf(subjectId: string, count: number): number {
  if (count === 1) return 0;
  return createHash('sha256').update(subjectId).digest().readUInt32BE(0) % count;
}

export function inShard(shard: Shard): (subjectId: string) => boolean {
  return (subjectId) => shardOf(subjectId, shard.count) === shard.index;
}
