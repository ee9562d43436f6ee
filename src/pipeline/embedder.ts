/** Embedding: one model run on the aligned 112×112 RGB crop, then L2 normalisation. */
import { FacerecError } from '../errors.js';
import type { ModelRunner } from './session.js';

export const EMBEDDING_DIM = 512;

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
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  return dot;
}

export async function embedFace(aligned: Uint8Array, runner: ModelRunner, signal?: AbortSignal): Promise<Float32Array> {
  const outputs = await runner.infer(aligned, signal ? { signal } : undefined);
  const raw = outputs['embedding'];
  if (!raw || raw.length !== EMBEDDING_DIM) throw new FacerecError('MODEL_FAILED', `embedder output must be named "embedding" with ${EMBEDDING_DIM} values`);
  return l2Normalize(raw);
}
