/**
 * Subject templates in the record of truth: one row per subject with faces,
 * the L2-normalised mean of its faces' embeddings (store/subject-template.ts).
 * A template is always recomputed from the subject's faces inside the write
 * transaction that changed them, never updated as a running mean, so writers
 * cannot leave it out of step with the faces it summarises.
 */
import { meanTemplate } from '../subject-template.js';
import type { Db } from './record-db.js';
import { blobToEmbedding, embeddingToBlob } from './embedding-blob.js';

export class TemplateWriter {
  readonly #embeddingsOfSubject;
  readonly #upsert;
  readonly #delete;

  constructor(db: Db) {
    this.#embeddingsOfSubject = db.prepare('SELECT embedding FROM faces WHERE subject_id = ?').pluck();
    this.#upsert = db.prepare(
      'INSERT INTO templates (subject_id, embedding, face_count) VALUES (?, ?, ?) ON CONFLICT(subject_id) DO UPDATE SET embedding = excluded.embedding, face_count = excluded.face_count',
    );
    this.#delete = db.prepare('DELETE FROM templates WHERE subject_id = ?');
  }

  /** Call inside the transaction that changed the subject's faces. */
  recompute(subjectId: string): void {
    const blobs = this.#embeddingsOfSubject.all(subjectId) as Buffer[];
    const template = meanTemplate(blobs.map(blobToEmbedding));
    if (template) this.#upsert.run(subjectId, embeddingToBlob(template), blobs.length);
    else this.#delete.run(subjectId);
  }
}

/**
 * Rewrites every template from the faces (a migration, or a table found out of
 * step at start-up), one subject at a time. Call inside a transaction.
 */
export function rebuildTemplates(db: Db): number {
  db.exec('DELETE FROM templates');
  const writer = new TemplateWriter(db);
  // Listed first: better-sqlite3 cannot write while a read is still iterating.
  const subjects = db.prepare('SELECT DISTINCT subject_id FROM faces').pluck().all() as string[];
  for (const subjectId of subjects) writer.recompute(subjectId);
  return subjects.length;
}

/** True when every subject with faces has a template row with its current face count. */
export function templatesInStep(db: Db): boolean {
  const missing = db
    .prepare(
      `SELECT count(*) FROM (SELECT subject_id, count(*) AS n FROM faces GROUP BY subject_id) f
       LEFT JOIN templates t ON t.subject_id = f.subject_id WHERE t.subject_id IS NULL OR t.face_count != f.n`,
    )
    .pluck()
    .get() as number;
  const extra = db.prepare('SELECT count(*) FROM templates t WHERE NOT EXISTS (SELECT 1 FROM faces f WHERE f.subject_id = t.subject_id)').pluck().get() as number;
  return missing === 0 && extra === 0;
}
