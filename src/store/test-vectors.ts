/** Deterministic unit vectors for store tests and the benchmark. */

/** mulberry32: tiny seeded PRNG, so failures reproduce. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function normalise(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const inv = 1 / Math.sqrt(sum);
  for (let i = 0; i < v.length; i++) v[i] = v[i]! * inv;
  return v;
}

/** Gaussian-ish (sum of uniforms) direction, so vectors spread over the sphere. */
export function randomUnit(dimension: number, random: () => number): Float32Array {
  const v = new Float32Array(dimension);
  for (let i = 0; i < dimension; i++) v[i] = random() + random() + random() - 1.5;
  return normalise(v);
}

/** A noisy copy of `base`, like a second photo of the same face; `noise` ~ angle scale. */
export function nearby(base: Float32Array, noise: number, random: () => number): Float32Array {
  const v = new Float32Array(base.length);
  for (let i = 0; i < base.length; i++) v[i] = base[i]! + noise * (random() + random() + random() - 1.5);
  return normalise(v);
}
