import type { FaceRecord, Payload, SubjectSummary } from '../vector-store.js';
import { matchesFilter } from '../validate.js';
import { blobToEmbedding } from './embedding-blob.js';
import type { Db } from './record-db.js';

interface FaceRow {
  key: number;
  face_id: string;
  subject_id: string;
  payload: string;
  image_sha256: string | null;
  created_at_ms: number;
}

const FACE_COLUMNS = 'key, face_id, subject_id, payload, image_sha256, created_at_ms';

function toFace(row: FaceRow): FaceRecord {
  return {
    faceId: row.face_id,
    subjectId: row.subject_id,
    payload: JSON.parse(row.payload) as Payload,
    imageSha256: row.image_sha256,
    createdAtMs: row.created_at_ms,
  };
}

/** Every read of the record of truth; none of these take a write lock. */
export class RecordReader {
  readonly #faceById;
  readonly #facesOfSubject;
  readonly #subject;
  readonly #subjectsAfter;
  readonly #countFaces;
  readonly #countFacesOfSubject;
  readonly #countSubjects;
  readonly #embeddingByKey;
  readonly #matchByKey;
  readonly #templateOf;
  readonly #subjectByKey;

  constructor(private readonly db: Db) {
    this.#subjectByKey = db.prepare('SELECT subject_id FROM faces WHERE key = ?').pluck();
    this.#templateOf = db.prepare('SELECT embedding FROM templates WHERE subject_id = ?').pluck();
    this.#faceById = db.prepare(`SELECT ${FACE_COLUMNS} FROM faces WHERE face_id = ?`);
    this.#facesOfSubject = db.prepare(`SELECT ${FACE_COLUMNS} FROM faces WHERE subject_id = ? ORDER BY key`);
    this.#subject = db.prepare(
      'SELECT subject_id, payload, (SELECT count(*) FROM faces f WHERE f.subject_id = s.subject_id) AS face_count FROM subjects s WHERE subject_id = ?',
    );
    this.#subjectsAfter = db.prepare(
      'SELECT subject_id, payload, (SELECT count(*) FROM faces f WHERE f.subject_id = s.subject_id) AS face_count FROM subjects s WHERE subject_id > ? ORDER BY subject_id LIMIT ?',
    );
    this.#countFaces = db.prepare('SELECT count(*) FROM faces').pluck();
    this.#countFacesOfSubject = db.prepare('SELECT count(*) FROM faces WHERE subject_id = ?').pluck();
    this.#countSubjects = db.prepare('SELECT count(*) FROM subjects').pluck();
    this.#embeddingByKey = db.prepare('SELECT embedding FROM faces WHERE key = ?').pluck();
    this.#matchByKey = db.prepare(
      `SELECT f.face_id, f.subject_id, f.payload, s.payload AS subject_payload FROM faces f JOIN subjects s ON s.subject_id = f.subject_id WHERE f.key = ?`,
    );
  }

  face(faceId: string): FaceRecord | undefined {
    const row = this.#faceById.get(faceId) as FaceRow | undefined;
    return row && toFace(row);
  }

  /** What a search hit reports: the face and its subject's current payload. */
  match(key: number): { faceId: string; subjectId: string; payload: Payload; subjectPayload: Payload } | undefined {
    const row = this.#matchByKey.get(key) as { face_id: string; subject_id: string; payload: string; subject_payload: string } | undefined;
    if (!row) return undefined;
    return {
      faceId: row.face_id,
      subjectId: row.subject_id,
      payload: JSON.parse(row.payload) as Payload,
      subjectPayload: JSON.parse(row.subject_payload) as Payload,
    };
  }

  subject(subjectId: string): (SubjectSummary & { faces: FaceRecord[] }) | undefined {
    const row = this.#subject.get(subjectId) as { subject_id: string; payload: string; face_count: number } | undefined;
    if (!row) return undefined;
    const faces = (this.#facesOfSubject.all(subjectId) as FaceRow[]).map(toFace);
    return { subjectId: row.subject_id, payload: JSON.parse(row.payload) as Payload, faceCount: row.face_count, faces };
  }

  /** Keyset pagination by subject id: stable under concurrent inserts, no OFFSET scans. */
  subjectsAfter(afterSubjectId: string, limit: number): SubjectSummary[] {
    const rows = this.#subjectsAfter.all(afterSubjectId, limit) as Array<{ subject_id: string; payload: string; face_count: number }>;
    return rows.map((r) => ({ subjectId: r.subject_id, payload: JSON.parse(r.payload) as Payload, faceCount: r.face_count }));
  }

  countFaces(subjectId?: string): number {
    return (subjectId === undefined ? this.#countFaces.get() : this.#countFacesOfSubject.get(subjectId)) as number;
  }

  countSubjects(): number {
    return this.#countSubjects.get() as number;
  }

  embedding(key: number): Float32Array | undefined {
    const blob = this.#embeddingByKey.get(key) as Buffer | undefined;
    return blob && blobToEmbedding(blob);
  }

  subjectOfFace(key: number): string | undefined {
    return this.#subjectByKey.get(key) as string | undefined;
  }

  /** The subject's template, or undefined when it has no faces. */
  template(subjectId: string): Float32Array | undefined {
    const blob = this.#templateOf.get(subjectId) as Buffer | undefined;
    return blob && blobToEmbedding(blob);
  }

  /** Streams every (key, embedding), for building the index at start-up. */
  *allEmbeddings(): Generator<{ key: number; embedding: Float32Array }> {
    const stmt = this.db.prepare('SELECT key, embedding FROM faces ORDER BY key').raw();
    for (const [key, blob] of stmt.iterate() as Iterable<[number, Buffer]>) yield { key, embedding: blobToEmbedding(blob) };
  }

  /**
   * Faces whose payload, or whose subject's payload, matches the filter, with
   * their embeddings. SQLite's json_extract narrows the rows; the JS check then
   * makes equality exact (json_extract turns true into 1).
   */
  filteredEmbeddings(filter: Payload): Array<{ key: number; embedding: Float32Array }> {
    const entries = Object.entries(filter);
    const where = entries.map(() => '(json_extract(f.payload, ?) = ? OR json_extract(s.payload, ?) = ?)').join(' AND ');
    const params = entries.flatMap(([k, v]) => {
      const path = `$."${k}"`;
      const value = typeof v === 'boolean' ? (v ? 1 : 0) : v;
      return [path, value, path, value];
    });
    const rows = this.db
      .prepare(`SELECT f.key, f.payload, s.payload AS subject_payload, f.embedding FROM faces f JOIN subjects s ON s.subject_id = f.subject_id WHERE ${where}`)
      .all(...params) as Array<{ key: number; payload: string; subject_payload: string; embedding: Buffer }>;
    return rows
      .filter((r) => matchesFilter(JSON.parse(r.payload) as Payload, JSON.parse(r.subject_payload) as Payload, filter))
      .map((r) => ({ key: r.key, embedding: blobToEmbedding(r.embedding) }));
  }

  changesSince(seq: number): Array<{ seq: number; key: number; op: number }> {
    return this.db.prepare('SELECT seq, key, op FROM changes WHERE seq > ? ORDER BY seq').all(seq) as Array<{ seq: number; key: number; op: number }>;
  }

  lastChangeSeq(): number {
    return (this.db.prepare("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)").pluck().get() as number) ?? 0;
  }
}
