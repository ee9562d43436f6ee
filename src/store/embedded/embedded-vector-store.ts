import { mkdirSync } from 'node:fs';

import { FacerecError, isFacerecError } from '../../errors.js';
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
import { IndexLifecycle, type IndexLifecycleOptions } from './index-lifecycle.js';
import { openRecordDb, translateSqliteError, type Db } from './record-db.js';
import { RecordReader } from './record-reads.js';
import { RecordWriter } from './record-writes.js';

/** `logger` gets start-up facts (index loaded / rebuilt) and failures no caller would see (background builds and saves). */
export interface EmbeddedVectorStoreOptions extends Omit<IndexLifecycleOptions, 'dimension'> {
  /** Embedding width; default EMBEDDING_DIM. */
  readonly dimension?: number;
}

/**
 * The zero-setup gallery: SQLite (WAL) is the record of truth, and an
 * in-memory index derived from it answers searches. This class holds the
 * record operations; the index's life (load, rebuild, background build,
 * saves) is index-lifecycle.ts's. Everything runs on the
 * calling thread with better-sqlite3's synchronous API, so in one process
 * every call is atomic with respect to every other; the methods are async only
 * to share the `VectorStore` contract with Qdrant.
 */
export class EmbeddedVectorStore implements VectorStore {
  readonly #index: IndexLifecycle;
  #closed = false;

  private constructor(
    private readonly options: Required<EmbeddedVectorStoreOptions>,
    private readonly lockNote: LockNote,
    private readonly db: Db,
    private readonly reader: RecordReader,
    private readonly writer: RecordWriter,
  ) {
    this.#index = new IndexLifecycle(options, db, reader);
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

  /**
   * Resolves once no index build is running: at once, or when the background
   * build that crossing `annThreshold` started has finished (or the store closed).
   */
  indexReady(): Promise<void> {
    return this.#index.ready();
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
      this.#index.apply(delta);
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
      this.#index.apply({ added: [], removedKeys: keys });
      return keys.length;
    });
  }

  deleteFace(faceId: string): Promise<void> {
    return this.#guard(() => {
      const key = this.writer.deleteFace(checkId('faceId', faceId));
      if (key === undefined) throw new FacerecError('FACE_NOT_FOUND', faceId, { details: { faceId } });
      this.#index.apply({ added: [], removedKeys: [key] });
    });
  }

  search(query: Float32Array, options: SearchOptions): Promise<SearchMatch[]> {
    return this.#guard(() => {
      const { k, minSimilarity, filter, rankBy } = checkSearch(query, options, this.options.dimension);
      const search = rankBy === 'subject' ? searchSubjects : searchCollection;
      return search(this.reader, this.#index.current, query, k, minSimilarity, filter);
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
      searchMode: this.#index.current.kind,
    }));
  }

  /** The review list of unknown faces, in this gallery's database (review-faces.ts). */
  openReviewStore(): Promise<ReviewStore> {
    return Promise.resolve(createEmbeddedReviewStore(this.db, (fn) => this.#guard(fn)));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#index.close();
    // While the database lock is still ours, so the note cannot be another holder's.
    this.lockNote.release();
    this.db.close();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
