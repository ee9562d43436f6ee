import usearch, { type Index as UsearchIndex, type Matches } from 'usearch';

const { Index, MetricKind, ScalarKind, exactSearch } = usearch;

export interface IndexHits {
  readonly keys: number[];
  readonly similarities: number[];
}

/** The in-memory vector set, keyed by the faces table's integer key. */
export interface VectorIndex {
  readonly kind: 'exact' | 'hnsw';
  size(): number;
  add(key: number, embedding: Float32Array): void;
  remove(key: number): void;
  has(key: number): boolean;
  search(query: Float32Array, k: number): IndexHits;
}

export interface HnswParams {
  /** M: graph edges per node. */
  readonly connectivity: number;
  /** efConstruction. */
  readonly expansionAdd: number;
  /** efSearch. */
  readonly expansionSearch: number;
}

/**
 * Exact search over a packed matrix (usearch's SIMD brute force). Deletes swap
 * the last row into the hole, so the matrix stays dense.
 */
export class FlatIndex implements VectorIndex {
  readonly kind = 'exact' as const;
  #matrix: Float32Array;
  #keys: number[] = [];
  readonly #slotOf = new Map<number, number>();

  constructor(private readonly dimension: number) {
    this.#matrix = new Float32Array(dimension * 1024);
  }

  size(): number {
    return this.#keys.length;
  }

  has(key: number): boolean {
    return this.#slotOf.has(key);
  }

  add(key: number, embedding: Float32Array): void {
    if (this.#slotOf.has(key)) this.remove(key);
    const slot = this.#keys.length;
    if ((slot + 1) * this.dimension > this.#matrix.length) {
      const grown = new Float32Array(this.#matrix.length * 2);
      grown.set(this.#matrix);
      this.#matrix = grown;
    }
    this.#matrix.set(embedding, slot * this.dimension);
    this.#keys.push(key);
    this.#slotOf.set(key, slot);
  }

  remove(key: number): void {
    const slot = this.#slotOf.get(key);
    if (slot === undefined) return;
    const last = this.#keys.length - 1;
    if (slot !== last) {
      const d = this.dimension;
      this.#matrix.copyWithin(slot * d, last * d, (last + 1) * d);
      const moved = this.#keys[last]!;
      this.#keys[slot] = moved;
      this.#slotOf.set(moved, slot);
    }
    this.#keys.pop();
    this.#slotOf.delete(key);
  }

  search(query: Float32Array, k: number): IndexHits {
    const n = this.#keys.length;
    if (n === 0) return { keys: [], similarities: [] };
    const dataset = this.#matrix.subarray(0, n * this.dimension);
    const hits = exactSearch(dataset, new Float32Array(query), this.dimension, Math.min(k, n), MetricKind.IP, 1) as Matches;
    return {
      keys: Array.from(hits.keys, (slot) => this.#keys[Number(slot)]!),
      similarities: Array.from(hits.distances, (d) => 1 - d),
    };
  }

  *entries(): Generator<{ key: number; embedding: Float32Array }> {
    const d = this.dimension;
    for (let slot = 0; slot < this.#keys.length; slot++) {
      yield { key: this.#keys[slot]!, embedding: this.#matrix.subarray(slot * d, (slot + 1) * d) };
    }
  }
}

/** usearch HNSW with inner product (= cosine on unit vectors); distance is 1 - dot. */
export class HnswIndex implements VectorIndex {
  readonly kind = 'hnsw' as const;
  readonly #index: UsearchIndex;

  constructor(dimension: number, params: HnswParams) {
    this.#index = new Index({
      dimensions: dimension,
      metric: MetricKind.IP,
      quantization: ScalarKind.F32,
      connectivity: params.connectivity,
      expansion_add: params.expansionAdd,
      expansion_search: params.expansionSearch,
      multi: false,
    });
  }

  size(): number {
    return this.#index.size();
  }

  has(key: number): boolean {
    return this.#index.contains(BigInt(key)) as boolean;
  }

  add(key: number, embedding: Float32Array): void {
    const label = BigInt(key);
    if (this.#index.contains(label)) this.#index.remove(label);
    this.#index.add(label, new Float32Array(embedding), 1);
  }

  /**
   * Batch add. Single-threaded on purpose: usearch 2.25's concurrent insert
   * left ~0.1% of nodes unreachable in our tests (a face that never matches
   * even its own embedding); one thread left none.
   */
  addMany(keys: BigUint64Array, matrix: Float32Array): void {
    this.#index.add(keys, matrix, 1);
  }

  remove(key: number): void {
    this.#index.remove(BigInt(key));
  }

  search(query: Float32Array, k: number): IndexHits {
    if (this.#index.size() === 0) return { keys: [], similarities: [] };
    const hits = this.#index.search(new Float32Array(query), k, 1) as Matches;
    return { keys: Array.from(hits.keys, Number), similarities: Array.from(hits.distances, (d) => 1 - d) };
  }

  save(path: string): void {
    this.#index.save(path);
  }

  /** Only call on a file whose checksum was verified: usearch crashes the process on garbage. */
  load(path: string): void {
    this.#index.load(path);
  }
}
