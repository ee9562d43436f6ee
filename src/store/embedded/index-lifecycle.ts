/**
 * The embedded store's search index over its life: chosen and loaded (or
 * rebuilt) at open, kept in step with every write, swapped from exact search
 * to an HNSW graph built in the background when the gallery crosses
 * `annThreshold`, saved every so many changes and on close. The records
 * themselves live in SQLite (record-reads.ts, record-writes.ts); everything
 * here can be rebuilt from them, which is why a failed build or save only
 * ever costs time.
 */
import type { Logger } from '../../logger.js';
import { IncrementalIndexBuild } from './index-build.js';
import { IndexSaveSchedule } from './index-save-schedule.js';
import { dropSavedIndex, loadIndex, NO_SAVED_INDEX, saveIndex } from './persisted-index.js';
import type { Db } from './record-db.js';
import type { RecordReader } from './record-reads.js';
import type { IndexDelta } from './record-writes.js';
import { FlatIndex, HnswIndex, type HnswParams, type VectorIndex } from './vector-index.js';

export interface IndexLifecycleOptions {
  readonly dataDir: string;
  readonly dimension: number;
  /** Gallery size from which search uses HNSW instead of a flat scan. */
  readonly annThreshold: number;
  readonly hnsw: HnswParams;
  /** Index changes after which the HNSW file is saved again, in the background (also saved on close). */
  readonly indexSaveEveryChanges: number;
  readonly logger: Logger;
}

const BUILD_CHUNK = 10_000;
const BULK_ADD_MIN = 64;
/** A background build step between requests: short enough not to be felt as latency. */
const BUILD_STEP_MS = 15;
/** Snapshot rows each written face also adds, so writes that never yield still finish the build. */
const BUILD_ROWS_PER_WRITE = 2;
/** Small graphs (a low `annThreshold`) are built at once: well under a second. */
const BUILD_AT_ONCE_MAX_ROWS = 1000;

export class IndexLifecycle {
  #index: VectorIndex;
  #build: IncrementalIndexBuild | undefined;
  #buildWaiters: Array<() => void> = [];
  readonly #saves: IndexSaveSchedule;
  #closed = false;

  /** Opens the index for the records in `db`: the saved graph, a rebuilt one, or exact search. */
  constructor(
    private readonly options: IndexLifecycleOptions,
    private readonly db: Db,
    private readonly reader: RecordReader,
  ) {
    this.#saves = new IndexSaveSchedule({
      everyChanges: options.indexSaveEveryChanges,
      save: () => this.#saveIndex(),
      logger: options.logger,
      logFields: { dataDir: options.dataDir },
    });
    this.#index = this.#openIndex();
  }

  /** The index searches use now (exact until a graph is built). */
  get current(): VectorIndex {
    return this.#index;
  }

  /**
   * Resolves once no index build is running: at once, or when the background
   * build that crossing `annThreshold` started has finished (or the store closed).
   */
  ready(): Promise<void> {
    if (!this.#build) return Promise.resolve();
    return new Promise((resolve) => this.#buildWaiters.push(resolve));
  }

  /** Brings the index (and a build in progress) in step with a committed write. */
  apply(delta: IndexDelta): void {
    for (const key of delta.removedKeys) this.#index.remove(key);
    // Big batches skip the per-key contains/remove check (keys are always fresh).
    if (this.#index instanceof HnswIndex && delta.added.length >= BULK_ADD_MIN) this.#bulkAdd(this.#index, delta.added, delta.added.length);
    else for (const { key, embedding } of delta.added) this.#index.add(key, embedding);
    this.#saves.addChanges(delta.removedKeys.length + delta.added.length);
    const build = this.#build;
    if (build) {
      for (const key of delta.removedKeys) build.remove(key);
      for (const { key, embedding } of delta.added) build.add(key, embedding);
      build.step(BUILD_ROWS_PER_WRITE * (delta.removedKeys.length + delta.added.length));
      if (build.done) this.#finishBuild();
      return;
    }
    if (this.#index instanceof FlatIndex && this.#index.size() >= Math.max(this.options.annThreshold, 1)) {
      this.#startBuild(this.#index);
    } else if (this.#saves.thresholdReached) {
      // After this write has returned: see index-save-schedule.ts.
      this.#saves.request();
    }
  }

  /**
   * Stops background work and saves a graph with unsaved changes. Call while
   * the database is still open: the save records its position in it.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // An unfinished build is dropped: the next open builds the index from the records.
    this.#build = undefined;
    this.#releaseBuildWaiters();
    this.#saves.stop();
    // A failed save is logged and loses nothing (the change log is replayed at the next start).
    if (this.#index instanceof HnswIndex && this.#saves.pending) this.#saves.saveNow();
  }

  #openIndex(): VectorIndex {
    const { dataDir, dimension, annThreshold, hnsw } = this.options;
    const count = this.reader.countFaces();
    if (count < annThreshold || count === 0) {
      dropSavedIndex(this.db, this.reader, dataDir);
      return this.#flatOfAll();
    }
    const loaded = loadIndex(this.db, this.reader, dataDir, dimension, hnsw);
    if (loaded.index) {
      this.options.logger.info('store: HNSW index loaded', {
        faces: count,
        replayedChanges: loaded.replayed,
        connectivity: loaded.index.connectivity(),
        expansionSearch: loaded.index.expansionSearch(),
      });
      this.#saves.addChanges(loaded.replayed);
      return loaded.index;
    }
    // No file is normal after a crash before the first save; a missing or bad one is worth a look.
    const rebuilding = { faces: count, reason: loaded.reason };
    if (loaded.reason === NO_SAVED_INDEX) this.options.logger.info('store: rebuilding HNSW index from the database', rebuilding);
    else this.options.logger.warn('store: rebuilding HNSW index from the database', rebuilding);
    if (count <= BUILD_AT_ONCE_MAX_ROWS) {
      const index = new HnswIndex(dimension, hnsw);
      this.#bulkAdd(index, this.reader.allEmbeddings());
      this.#saves.request();
      return index;
    }
    // A large graph takes minutes to hours to build: open at once with exact search and build it behind.
    const flat = this.#flatOfAll();
    this.#startBuild(flat);
    return flat;
  }

  #flatOfAll(): FlatIndex {
    const flat = new FlatIndex(this.options.dimension);
    for (const { key, embedding } of this.reader.allEmbeddings()) flat.add(key, embedding);
    return flat;
  }

  #bulkAdd(index: HnswIndex, source: Iterable<{ key: number; embedding: Float32Array }>, expected = BUILD_CHUNK): void {
    const d = this.options.dimension;
    const chunk = Math.min(BUILD_CHUNK, Math.max(expected, 1));
    let keys = new BigUint64Array(chunk);
    const matrix = new Float32Array(chunk * d);
    let n = 0;
    const flush = () => {
      if (n > 0) index.addMany(keys.slice(0, n), matrix.slice(0, n * d));
      n = 0;
      keys = new BigUint64Array(chunk);
    };
    for (const { key, embedding } of source) {
      keys[n] = BigInt(key);
      matrix.set(embedding, n * d);
      if (++n === chunk) flush();
    }
    flush();
  }

  /** What a save does now (a graph being built is saved when it is done; exact search runs meanwhile). */
  #saveIndex(): void {
    const { dataDir } = this.options;
    // A flat index has nothing to save; just keep the change log from growing.
    if (this.#index instanceof HnswIndex) saveIndex(this.db, this.reader, dataDir, this.#index);
    else dropSavedIndex(this.db, this.reader, dataDir);
  }

  /** Crossing the threshold: build the graph in the background (index-build.ts) while exact search goes on. */
  #startBuild(flat: FlatIndex): void {
    const { keys, matrix } = flat.snapshot();
    this.#build = new IncrementalIndexBuild(new HnswIndex(this.options.dimension, this.options.hnsw), keys, matrix, this.options.dimension);
    if (keys.length <= BUILD_AT_ONCE_MAX_ROWS) {
      this.#build.step(Number.POSITIVE_INFINITY);
      this.#finishBuild();
      return;
    }
    this.options.logger.info('store: building HNSW index in the background', { faces: keys.length });
    this.#scheduleBuildStep();
  }

  #scheduleBuildStep(): void {
    setImmediate(() => {
      const build = this.#build;
      if (!build || this.#closed) return;
      try {
        build.step(Number.POSITIVE_INFINITY, BUILD_STEP_MS);
        if (build.done) this.#finishBuild();
        else this.#scheduleBuildStep();
      } catch (error) {
        // Outside any request, so nobody else would see it. Exact search goes on; each
        // later write steps the build again, and the next start rebuilds it anyway.
        this.options.logger.error('store: background HNSW index build failed; exact search continues', {
          dataDir: this.options.dataDir,
          cause: error instanceof Error ? error.message : String(error),
        });
      }
    });
  }

  /** Swaps the built graph in and asks for it to be saved (a failed save leaves it live and unsaved). */
  #finishBuild(): void {
    const build = this.#build!;
    this.#build = undefined;
    this.#index = build.index;
    this.#releaseBuildWaiters();
    this.#saves.request();
    this.options.logger.info('store: HNSW index built', { faces: build.index.size() });
  }

  #releaseBuildWaiters(): void {
    for (const resolve of this.#buildWaiters.splice(0)) resolve();
  }
}
