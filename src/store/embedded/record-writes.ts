import { faceIdTaken } from '../face-id.js';
import type { NormalisedFace } from '../validate.js';
import type { Payload } from '../vector-store.js';
import { embeddingToBlob } from './embedding-blob.js';
import type { Db } from './record-db.js';
import { TemplateWriter } from './subject-templates.js';

export const OP_REMOVE = 0;
export const OP_ADD = 1;

/** What a committed write did to the vector set, for the in-memory index. */
export interface IndexDelta {
  readonly added: Array<{ key: number; embedding: Float32Array }>;
  readonly removedKeys: number[];
}

/**
 * All writes to the record of truth, each one SQLite transaction. Every face
 * change is also appended to `changes`, so a persisted ANN index saved at an
 * older sequence number can be brought up to date at start-up.
 */
export class RecordWriter {
  readonly #findFace;
  readonly #deleteFaceByKey;
  readonly #insertFace;
  readonly #upsertSubject;
  readonly #insertSubjectIfMissing;
  readonly #logChange;
  readonly #faceKeysOfSubject;
  readonly #deleteFacesOfSubject;
  readonly #deleteSubject;
  readonly #updateSubjectPayload;
  readonly #templates;
  readonly #deleteTemplate;

  constructor(private readonly db: Db) {
    this.#templates = new TemplateWriter(db);
    this.#deleteTemplate = db.prepare('DELETE FROM templates WHERE subject_id = ?');
    this.#findFace = db.prepare('SELECT key, subject_id, created_at_ms FROM faces WHERE face_id = ?');
    this.#deleteFaceByKey = db.prepare('DELETE FROM faces WHERE key = ?');
    this.#insertFace = db.prepare(
      'INSERT INTO faces (face_id, subject_id, embedding, payload, image_sha256, created_at_ms) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#upsertSubject = db.prepare(
      'INSERT INTO subjects (subject_id, payload, created_at_ms) VALUES (?, ?, ?) ON CONFLICT(subject_id) DO UPDATE SET payload = excluded.payload',
    );
    this.#insertSubjectIfMissing = db.prepare('INSERT OR IGNORE INTO subjects (subject_id, payload, created_at_ms) VALUES (?, ?, ?)');
    this.#logChange = db.prepare('INSERT INTO changes (key, op) VALUES (?, ?)');
    this.#faceKeysOfSubject = db.prepare('SELECT key FROM faces WHERE subject_id = ?').pluck();
    this.#deleteFacesOfSubject = db.prepare('DELETE FROM faces WHERE subject_id = ?');
    this.#deleteSubject = db.prepare('DELETE FROM subjects WHERE subject_id = ?');
    this.#updateSubjectPayload = db.prepare('UPDATE subjects SET payload = ? WHERE subject_id = ?');
  }

  /**
   * A re-upserted face gets a fresh key (old vector removed, new one added) but
   * keeps its created time. A face id that belongs to another subject fails the
   * whole batch with ALREADY_EXISTS (the transaction rolls back).
   */
  upsertFaces(faces: readonly NormalisedFace[], nowMs: number): IndexDelta {
    return this.db.transaction((): IndexDelta => {
      const added = new Map<string, { key: number; embedding: Float32Array }>();
      const removedKeys: number[] = [];
      const batchKeys = new Set<number>();
      for (const face of faces) {
        const old = this.#findFace.get(face.faceId) as { key: number; subject_id: string; created_at_ms: number } | undefined;
        if (old && old.subject_id !== face.subjectId) throw faceIdTaken(face.faceId, old.subject_id, face.subjectId);
        if (face.subjectPayload !== undefined) this.#upsertSubject.run(face.subjectId, JSON.stringify(face.subjectPayload), nowMs);
        else this.#insertSubjectIfMissing.run(face.subjectId, '{}', nowMs);
        if (old) {
          this.#deleteFaceByKey.run(old.key);
          this.#logChange.run(old.key, OP_REMOVE);
          // A face id repeated within the batch: its first key never reached the index.
          if (!batchKeys.has(old.key)) removedKeys.push(old.key);
        }
        const info = this.#insertFace.run(
          face.faceId,
          face.subjectId,
          embeddingToBlob(face.embedding),
          JSON.stringify(face.payload),
          face.imageSha256,
          old?.created_at_ms ?? nowMs,
        );
        const key = Number(info.lastInsertRowid);
        this.#logChange.run(key, OP_ADD);
        batchKeys.add(key);
        added.set(face.faceId, { key, embedding: face.embedding });
      }
      for (const subjectId of new Set(faces.map((face) => face.subjectId))) this.#templates.recompute(subjectId);
      return { added: [...added.values()], removedKeys };
    }).immediate();
  }

  /** False when the subject does not exist. */
  updateSubject(subjectId: string, payload: Payload): boolean {
    return this.#updateSubjectPayload.run(JSON.stringify(payload), subjectId).changes > 0;
  }

  /** Returns the removed keys, or undefined when the subject does not exist. */
  deleteSubject(subjectId: string): number[] | undefined {
    return this.db.transaction((): number[] | undefined => {
      const keys = this.#faceKeysOfSubject.all(subjectId) as number[];
      this.#deleteTemplate.run(subjectId);
      this.#deleteFacesOfSubject.run(subjectId);
      const gone = this.#deleteSubject.run(subjectId).changes;
      if (gone === 0) return undefined;
      for (const key of keys) this.#logChange.run(key, OP_REMOVE);
      return keys;
    }).immediate();
  }

  /** Returns the removed key, or undefined when the face does not exist. */
  deleteFace(faceId: string): number | undefined {
    return this.db.transaction((): number | undefined => {
      const old = this.#findFace.get(faceId) as { key: number; subject_id: string } | undefined;
      if (!old) return undefined;
      this.#deleteFaceByKey.run(old.key);
      this.#logChange.run(old.key, OP_REMOVE);
      this.#templates.recompute(old.subject_id);
      return old.key;
    }).immediate();
  }
}
