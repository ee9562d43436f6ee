/**
 * When the saved HNSW file is brought up to date.
 *
 * A save writes the whole graph, fsyncs it and checksums it: seconds for a
 * large gallery. It must not run inside the write that happens to cross
 * `indexSaveEveryChanges`: that caller would wait for it, and a failed save
 * (disk full, a permission error) would turn its committed write into an
 * error. So a save is only asked for, and runs on a later turn of the event
 * loop (setImmediate), once however many writes asked. It is still
 * synchronous there (usearch saves on the calling thread), so it delays the
 * requests queued behind it, but it fails or succeeds on its own.
 *
 * Nothing is lost while the file lags: every change is in SQLite's change log
 * and is replayed onto the last good file at start-up. A failed save is logged
 * and tried again after another `everyChanges` changes, and on close, rather
 * than on every following write.
 */
import type { Logger } from '../../logger.js';

export interface IndexSaveScheduleOptions {
  /** Changes after which a save is asked for. */
  readonly everyChanges: number;
  /** Brings the saved state up to date with the live index; throws on failure. */
  readonly save: () => void;
  readonly logger: Logger;
  /** Added to every log line (e.g. the data directory). */
  readonly logFields: Record<string, unknown>;
}

export class IndexSaveSchedule {
  #unsavedChanges = 0;
  #nextSaveAt: number;
  /** The saved file lags in a way the change count does not show (a graph just built). */
  #owed = false;
  #queued = false;
  #stopped = false;

  constructor(private readonly options: IndexSaveScheduleOptions) {
    this.#nextSaveAt = options.everyChanges;
  }

  get unsavedChanges(): number {
    return this.#unsavedChanges;
  }

  /** Counts changes the saved file lacks (changes replayed at start-up included). */
  addChanges(count: number): void {
    this.#unsavedChanges += count;
  }

  /** True once enough changes have gathered since the last save (or failed save). */
  get thresholdReached(): boolean {
    return this.#unsavedChanges >= this.#nextSaveAt;
  }

  /** Whether close() should still save. */
  get pending(): boolean {
    return this.#owed || this.#unsavedChanges > 0;
  }

  /** Asks for a save on a later turn of the event loop; requests made before it runs share it. */
  request(): void {
    this.#owed = true;
    if (this.#queued || this.#stopped) return;
    this.#queued = true;
    setImmediate(() => {
      this.#queued = false;
      if (!this.#stopped) this.saveNow();
    });
  }

  /** Saves at once. Never throws: a failure is logged and the save asked for again later. */
  saveNow(): boolean {
    const { save, logger, logFields, everyChanges } = this.options;
    const started = performance.now();
    try {
      save();
    } catch (error) {
      this.#nextSaveAt = this.#unsavedChanges + everyChanges;
      logger.error('store: index save failed; the live index serves on, and the database keeps its changes for replay at start-up', {
        ...logFields,
        unsavedChanges: this.#unsavedChanges,
        retryAfterChanges: everyChanges,
        cause: error instanceof Error ? error.message : String(error),
      });
      return false;
    }
    logger.debug('store: index saved', { ...logFields, changes: this.#unsavedChanges, durationMs: Math.round(performance.now() - started) });
    this.#unsavedChanges = 0;
    this.#nextSaveAt = everyChanges;
    this.#owed = false;
    return true;
  }

  /** No more background saves (the store is closing). */
  stop(): void {
    this.#stopped = true;
  }
}
