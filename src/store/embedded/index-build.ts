/**
 * Building the HNSW index when a gallery outgrows exact search, without
 * stopping the server: an M 32 graph takes about 25 s for the first 20 000
 * faces on one core, and the store runs on the event loop.
 *
 * The build works from a snapshot of the exact index and adds it in slices:
 * between requests (time-boxed steps) and a little on every write, so a
 * client that writes without pause still drives it to the end. Writes during
 * the build go into the new graph at once and mark their key as touched, so
 * the snapshot's older copy of that key is skipped; the exact index keeps
 * answering searches until the graph is complete.
 */
import type { HnswIndex } from './vector-index.js';

export class IncrementalIndexBuild {
  #next = 0;
  readonly #touched = new Set<number>();

  constructor(
    readonly index: HnswIndex,
    private readonly keys: readonly number[],
    private readonly matrix: Float32Array,
    private readonly dimension: number,
  ) {}

  get done(): boolean {
    return this.#next >= this.keys.length;
  }

  add(key: number, embedding: Float32Array): void {
    this.#touched.add(key);
    this.index.add(key, embedding);
  }

  remove(key: number): void {
    this.#touched.add(key);
    this.index.remove(key);
  }

  /** Adds snapshot rows until `maxRows` are in or `budgetMs` has passed. */
  step(maxRows: number, budgetMs = Number.POSITIVE_INFINITY): void {
    const start = performance.now();
    const d = this.dimension;
    for (let added = 0; added < maxRows && this.#next < this.keys.length; ) {
      const row = this.#next++;
      const key = this.keys[row]!;
      if (this.#touched.has(key)) continue;
      this.index.add(key, this.matrix.subarray(row * d, (row + 1) * d));
      added++;
      if ((added & 7) === 0 && performance.now() - start >= budgetMs) break;
    }
  }
}
