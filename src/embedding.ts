/**
 * What the pipeline and the store agree on about an embedding: its width and
 * how two are compared. A leaf module (it imports nothing), so the pipeline,
 * the store, the server and the tools all share one definition without
 * depending on each other.
 */

/** Width of a face embedding (the MobileFaceNet / ArcFace-style models give 512 floats). */
export const EMBEDDING_DIM = 512;

/**
 * The dot product. Embeddings are L2-normalised, so this is their cosine
 * similarity, in [-1, 1], higher is closer. Unchecked: callers on hot paths
 * (gallery ranking) compare vectors the store has already validated.
 */
export function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}
