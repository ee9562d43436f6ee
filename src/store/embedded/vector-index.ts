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
  /** efSearch; 0 = grow it with the gallery (`autoExpansionSearch`). */
  readonly expansionSearch: number;
}

/**
 * The search width that keeps recall@1 at 0.99 or above as an M 32 graph
 * grows: 16 up to 100k faces, then × (n / 100k)^0.6, so 64 at 1M
 * (bench/store.ts, docs/store.md). A graph built with a smaller M (galleries
 * from before M 32 was the default) keeps the width it always had, 64.
 */
export function autoExpansionSearch(size: number, connectivity: number): number {
  if (connectivity < 32) return 64;
  return Math.min(512, Math.max(16, Math.ceil(16 * (size / 100_000) ** 0.6)));
}

/** usearch's own efSearch when the width is chosen per query: a floor, raised by asking for more results. */
const EXPANSION_SEARCH_FLOOR = 16;

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

  /** A copy of the keys and rows, safe to read while this index changes. */
  snapshot(): { keys: number[]; matrix: Float32Array } {
    return { keys: [...this.#keys], matrix: this.#matrix.slice(0, this.#keys.length * this.dimension) };
  }
}

/** usearch HNSW with inner product (= cosine on unit vectors); distance is 1 - dot. */
export class HnswIndex implements VectorIndex {
  readonly kind = 'hnsw' as const;
  readonly #index: UsearchIndex;

  constructor(
    dimension: number,
    private readonly params: HnswParams,
  ) {
    this.#index = new Index({
      dimensions: dimension,
      metric: MetricKind.IP,
      quantization: ScalarKind.F32,
      connectivity: params.connectivity,
      expansion_add: params.expansionAdd,
      expansion_search: params.expansionSearch > 0 ? params.expansionSearch : EXPANSION_SEARCH_FLOOR,
      multi: false,
    });
  }

  /** M as built: a loaded file keeps the M it was built with, whatever the settings say now. */
  connectivity(): number {
    return this.#index.connectivity();
  }

  /** The search width used at the current size. */
  expansionSearch(): number {
    return this.params.expansionSearch > 0 ? this.params.expansionSearch : autoExpansionSearch(this.#index.size(), this.connectivity());
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

  /**
   * usearch searches with a candidate list of max(efSearch, k), so asking for
   * `expansionSearch()` results and keeping the best k sets the width per
   * query without rebuilding the index.
   */
  search(query: Float32Array, k: number): IndexHits {
    const size = this.#index.size();
    if (size === 0) return { keys: [], similarities: [] };
    const wanted = Math.min(size, Math.max(k, this.expansionSearch()));
    const hits = this.#index.search(new Float32Array(query), wanted, 1) as Matches;
    const n = Math.min(k, hits.keys.length);
    return { keys: Array.from(hits.keys.subarray(0, n), Number), similarities: Array.from(hits.distances.subarray(0, n), (d) => 1 - d) };
  }

  save(path: string): void {
    this.#index.save(path);
  }

  /** Only call on a file whose checksum was verified: usearch crashes the process on garbage. */
  load(path: string): void {
    this.#index.load(path);
  }
}
