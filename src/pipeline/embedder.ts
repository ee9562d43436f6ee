/**
 * Embedding: one model run on the aligned 112×112 RGB crop (or the region and
 * matrix it is warped from, align.ts `alignmentItems`), then L2 normalisation.
 */
import { FacerecError } from '../errors.js';
import { dot, EMBEDDING_DIM } from '../embedding.js';
import type { ModelItem, ModelRunner } from './session.js';

export { EMBEDDING_DIM };

export function l2Normalize(vector: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i]! * vector[i]!;
  const norm = Math.sqrt(sum);
  const out = new Float32Array(vector.length);
  if (norm === 0) return out;
  for (let i = 0; i < vector.length; i++) out[i] = vector[i]! / norm;
  return out;
}

/** Cosine similarity of two L2-normalised embeddings (their dot product). */
export function cosineSimilarity(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`embedding lengths differ: ${a.length} vs ${b.length}`);
  return dot(a, b);
}

export async function embedFace(aligned: ModelItem, runner: ModelRunner, signal?: AbortSignal): Promise<Float32Array> {
  const outputs = await runner.infer(aligned, signal ? { signal } : undefined);
  const raw = outputs['embedding'];
  if (!raw || raw.length !== EMBEDDING_DIM) throw new FacerecError('MODEL_FAILED', `embedder output must be named "embedding" with ${EMBEDDING_DIM} values`);
  return l2Normalize(raw);
}

/**
 * Test-time flip augmentation: embeds the crop and its mirror image and
 * returns the normalised sum of the two unit vectors. A face and its mirror
 * image are the same person, so averaging cancels some of what the model
 * reads from pose and lighting that differ between the two sides.
 * Both items are submitted at once, so a batching runner can put them
 * into one model run.
 */
export async function embedFlipAveraged(aligned: ModelItem, mirrored: ModelItem, runner: ModelRunner, signal?: AbortSignal): Promise<Float32Array> {
  const [plain, flipped] = await Promise.all([embedFace(aligned, runner, signal), embedFace(mirrored, runner, signal)]);
  const sum = new Float32Array(EMBEDDING_DIM);
  for (let i = 0; i < EMBEDDING_DIM; i++) sum[i] = plain[i]! + flipped[i]!;
  return l2Normalize(sum);
}
