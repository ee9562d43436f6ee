/**
 * A subject's template: the L2-normalised mean of its faces' embeddings. One
 * vector that sits between the subject's photos matches a new photo of the
 * person better than the best of those photos alone does, and it is
 * recomputed from the faces themselves (never kept as a running mean), so
 * it cannot drift or be corrupted by writers racing each other.
 */
export function meanTemplate(embeddings: Iterable<Float32Array>, dimension?: number): Float32Array | undefined {
  let sum: Float32Array | undefined = dimension === undefined ? undefined : new Float32Array(dimension);
  let count = 0;
  for (const e of embeddings) {
    sum ??= new Float32Array(e.length);
    for (let i = 0; i < sum.length; i++) sum[i]! += e[i]!;
    count++;
  }
  if (!sum || count === 0) return undefined;
  let norm = 0;
  for (let i = 0; i < sum.length; i++) norm += sum[i]! * sum[i]!;
  norm = Math.sqrt(norm);
  // Opposite embeddings cancel out: no direction is left to match against.
  if (norm < 1e-6) return undefined;
  for (let i = 0; i < sum.length; i++) sum[i]! /= norm;
  return sum;
}
