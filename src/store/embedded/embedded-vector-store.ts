import { mkdirSync } from 'node:fs';

import { FacerecError, isFacerecError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { checkId, checkPageSize, checkPayload, checkSearch, normaliseFaces } from '../validate.js';
import {
  EMBEDDING_DIM,
  type FaceInput,
  type FaceRecord,
  type ListSubjectsOptions,
  type Payload,
  type SearchMatch,
  type SearchOptions,
  type StoreStats,
  type Subject,
  type SubjectPage,
  type UpsertResult,
  type VectorStore,
} from '../vector-store.js';
import type { ReviewStore } from '../review-store.js';
import { searchCollection, searchSubjects } from './collection-search.js';
import { createEmbeddedReviewStore } from './review-faces.js';
import { rebuildTemplates, templatesInStep } from './subject-templates.js';
import { writeLockNote, type LockNote } from './data-dir-lock.js';
import { IncrementalIndexBuild } from './index-build.js';
import { IndexSaveSchedule } from './index-save-schedule.js';
import { dropSavedIndex, loadIndex, NO_SAVED_INDEX, saveIndex } from './persisted-index.js';
import { openRecordDb, translateSqliteError, type Db } from './record-db.js';
import { RecordReader } from './record-reads.js';
import { RecordWriter, type IndexDelta } from './record-writes.js';
import { FlatIndex, HnswIndex, type HnswParams, type VectorIndex } from './vector-index.js';

export interface EmbeddedVectorStoreOptions {
  readonly dataDir: string;
  /** Gallery size from which search uses HNSW instead of a flat scan. */
  readonly annThreshold: number;
  readonly hnsw: HnswParams;
  /** Index changes after which the HNSW file is saved again, in the background (also saved on close). */
  readonly indexSaveEveryChanges: number;
  readonly dimension?: number;
  /** Start-up facts (index loaded / rebuilt) and failures no caller would see (background builds and saves). */
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

/**
 * The zero-setup gallery: SQLite (WAL) is the record of truth, and an
 * in-memory index derived from it answers searches. Everything runs on the
 * calling thread with better-sqlite3's synchronous API, so in one process
 * every call is atomic with respect to every other; the methods are async only
 * to share the `VectorStore` contract with Qdrant.
 */
export class EmbeddedVectorStore implements VectorStore {
  #index: VectorIndex;
  #build: IncrementalIndexBuild | undefined;
  #buildWaiters: Array<() => void> = [];
  readonly #saves: IndexSaveSchedule;
  #closed = false;

  private constructor(
    private readonly options: Required<EmbeddedVectorStoreOptions>,
    private readonly lockNote: LockNote,
    private readonly db: Db,
    private readonly reader: RecordReader,
    private readonly writer: RecordWriter,
  ) {
    this.#saves = new IndexSaveSchedule({
      everyChanges: options.indexSaveEveryChanges,
      save: () => this.#saveIndex(),
      logger: options.logger,
      logFields: { dataDir: options.dataDir },
    });
    this.#index = this.#openIndex();
  }

  /**
   * Opens the gallery in `dataDir`. Throws STORE_LOCKED while another store
   * (in this process or another) has it open; a LOCK file left by a crashed
   * process is no obstacle (data-dir-lock.ts).
   */
  static open(options: EmbeddedVectorStoreOptions): EmbeddedVectorStore {
    const full = { dimension: EMBEDDING_DIM, ...options };
    mkdirSync(full.dataDir, { recursive: true });
    // Takes SQLite's exclusive lock: the one thing that keeps a second facerec out.
    const db = openRecordDb(full.dataDir, full.dimension);
    const note = writeLockNote(full.dataDir, full.logger);
    try {
      if (!templatesInStep(db)) {
        // Only a damaged or hand-edited database gets here: writes keep templates in step.
        const subjects = db.transaction(() => rebuildTemplates(db)).immediate();
        full.logger.warn('store: subject templates were out of step with the faces and have been rebuilt', { dataDir: full.dataDir, subjects });
      }
      return new EmbeddedVectorStore(full, note, db, new RecordReader(db), new RecordWriter(db));
    } catch (err) {
      note.release();
      db.close();
      throw translateSqliteError(full.dataDir, err);
    }
  }

  #openIndex(): VectorIndex {
    const { dataDir, dimension, annThreshold, hnsw } = this.options;
    const count = this.reader.countFaces();
    if (count < annThreshold || count === 0) {
      dropSavedIndex(this.db, this.reader, dataDir);
      const flat = new FlatIndex(dimension);
      for (const { key, embedding } of this.reader.allEmbeddings()) flat.add(key, embedding);
      return flat;
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
    const flat = new FlatIndex(dimension);
    for (const { key, embedding } of this.reader.allEmbeddings()) flat.add(key, embedding);
    this.#startBuild(flat);
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

  #applyDelta(delta: IndexDelta): void {
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
          cause: messageOf(error),
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

  /**
   * Resolves once no index build is running: at once, or when the background
   * build that crossing `annThreshold` started has finished (or the store closed).
   */
  indexReady(): Promise<void> {
    if (!this.#build) return Promise.resolve();
    return new Promise((resolve) => this.#buildWaiters.push(resolve));
  }

  #guard<T>(fn: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new FacerecError('STORE_UNAVAILABLE', 'the store is closed'));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      const translated = translateSqliteError(this.options.dataDir, err);
      // The client gets the code; the SQLite error behind it is only ever seen here.
      if (isFacerecError(translated, 'STORE_UNAVAILABLE') || isFacerecError(translated, 'STORE_CORRUPT')) {
        this.options.logger.error('store: database operation failed', { dataDir: this.options.dataDir, code: translated.code, cause: messageOf(err) });
      }
      return Promise.reject(translated);
    }
  }

  upsertFaces(faces: readonly FaceInput[]): Promise<UpsertResult> {
    return this.#guard(() => {
      const normalised = normaliseFaces(faces, this.options.dimension);
      const delta = this.writer.upsertFaces(normalised, Date.now());
      this.#applyDelta(delta);
      return { faceIds: normalised.map((f) => f.faceId) };
    });
  }

  updateSubject(subjectId: string, payload: Payload): Promise<void> {
    return this.#guard(() => {
      if (!this.writer.updateSubject(checkId('subjectId', subjectId), checkPayload(payload, 'payload'))) {
        throw new FacerecError('SUBJECT_NOT_FOUND', subjectId, { details: { subjectId } });
      }
    });
  }

  deleteSubject(subjectId: string): Promise<number> {
    return this.#guard(() => {
      const keys = this.writer.deleteSubject(checkId('subjectId', subjectId));
      if (keys === undefined) throw new FacerecError('SUBJECT_NOT_FOUND', subjectId, { details: { subjectId } });
      this.#applyDelta({ added: [], removedKeys: keys });
      return keys.length;
    });
  }

  deleteFace(faceId: string): Promise<void> {
    return this.#guard(() => {
      const key = this.writer.deleteFace(checkId('faceId', faceId));
      if (key === undefined) throw new FacerecError('FACE_NOT_FOUND', faceId, { details: { faceId } });
      this.#applyDelta({ added: [], removedKeys: [key] });
    });
  }

  search(query: Float32Array, options: SearchOptions): Promise<SearchMatch[]> {
    return this.#guard(() => {
      const { k, minSimilarity, filter, rankBy } = checkSearch(query, options, this.options.dimension);
      const search = rankBy === 'subject' ? searchSubjects : searchCollection;
      return search(this.reader, this.#index, query, k, minSimilarity, filter);
    });
  }

  listSubjects(options?: ListSubjectsOptions): Promise<SubjectPage> {
    return this.#guard(() => {
      const limit = checkPageSize(options);
      const after = options?.pageToken ? Buffer.from(options.pageToken, 'base64url').toString('utf8') : '';
      const subjects = this.reader.subjectsAfter(after, limit + 1);
      if (subjects.length <= limit) return { subjects };
      const page = subjects.slice(0, limit);
      return { subjects: page, nextPageToken: Buffer.from(page[page.length - 1]!.subjectId, 'utf8').toString('base64url') };
    });
  }

  getSubject(subjectId: string): Promise<Subject> {
    return this.#guard(() => {
      const subject = this.reader.subject(checkId('subjectId', subjectId));
      if (!subject) throw new FacerecError('SUBJECT_NOT_FOUND', subjectId, { details: { subjectId } });
      return subject;
    });
  }

  getFace(faceId: string): Promise<FaceRecord> {
    return this.#guard(() => {
      const face = this.reader.face(checkId('faceId', faceId));
      if (!face) throw new FacerecError('FACE_NOT_FOUND', faceId, { details: { faceId } });
      return face;
    });
  }

  count(subjectId?: string): Promise<number> {
    return this.#guard(() => this.reader.countFaces(subjectId === undefined ? undefined : checkId('subjectId', subjectId)));
  }

  stats(): Promise<StoreStats> {
    return this.#guard(() => ({
      backend: 'embedded' as const,
      faceCount: this.reader.countFaces(),
      subjectCount: this.reader.countSubjects(),
      dimension: this.options.dimension,
      searchMode: this.#index.kind,
    }));
  }

  /** The review list of unknown faces, in this gallery's database (review-faces.ts). */
  openReviewStore(): Promise<ReviewStore> {
    return Promise.resolve(createEmbeddedReviewStore(this.db, (fn) => this.#guard(fn)));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // An unfinished build is dropped: the next open builds the index from the records.
    this.#build = undefined;
    this.#releaseBuildWaiters();
    this.#saves.stop();
    // A failed save is logged and loses nothing (the change log is replayed at the next start).
    if (this.#index instanceof HnswIndex && this.#saves.pending) this.#saves.saveNow();
    // While the database lock is still ours, so the note cannot be another holder's.
    this.lockNote.release();
    this.db.close();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
