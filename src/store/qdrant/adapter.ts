import { QdrantClient } from '@qdrant/js-client-rest';

import { FacerecError, isFacerecError } from '../../errors.js';
import { toPointUuid } from '../face-id.js';
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
import { ensureCollections, subjectsCollectionOf } from './collections.js';

export interface QdrantVectorStoreOptions {
  readonly url: string;
  readonly apiKey?: string | undefined;
  /** Faces collection; subjects live in `<collection>_subjects`. */
  readonly collection: string;
  readonly dimension?: number;
  /** Points per upsert request. */
  readonly upsertBatchSize?: number;
}

type Client = QdrantClient;
type Filter = NonNullable<NonNullable<Parameters<Client['scroll']>[1]>['filter']>;
interface FacePointPayload {
  face_id: string;
  subject_id: string;
  image_sha256: string | null;
  created_at_ms: number;
  payload: Payload;
  /** A copy of the subject's payload, kept in step on every subject write, so search can filter on it and return it. */
  subject_payload?: Payload;
}

/** Qdrant is asked for a hair more than the floor; the exact `>=` floor is applied to its answer. */
const SCORE_THRESHOLD_SLACK = 1e-7;
const SUBJECT_NS = 'subject';
const FACE_NS = 'face';
/** The subjects collection holds payload only; Qdrant wants a vector, so each point carries [1]. */
const UNIT = [1];

function bySubject(subjectId: string): Filter {
  return { must: [{ key: 'subject_id', match: { value: subjectId } }] };
}

/** Each field must equal the face's own payload value or its subject's (see SearchOptions.filter). */
function toQdrantFilter(filter: Payload): Filter {
  return {
    must: Object.entries(filter).map(([key, value]) => {
      const match = { value: value as string | number | boolean };
      return { should: [{ key: `payload.${key}`, match }, { key: `subject_payload.${key}`, match }] };
    }),
  };
}

function toFace(p: Record<string, unknown> | null | undefined): FaceRecord {
  const f = (p ?? {}) as unknown as FacePointPayload;
  return { faceId: f.face_id, subjectId: f.subject_id, payload: f.payload ?? {}, imageSha256: f.image_sha256 ?? null, createdAtMs: f.created_at_ms };
}

/**
 * The scale-out backend. Faces are points in one collection (cosine, payload
 * index on subject_id); subjects, with their payload, are points in a small
 * side collection so listing them pages in O(page) instead of faceting every
 * face. Face counts come from exact `count` calls per listed subject. Every
 * write waits for Qdrant's acknowledgement (its WAL), matching the embedded
 * backend's durability promise.
 */
export class QdrantVectorStore implements VectorStore {
  readonly #subjects: string;

  private constructor(
    private readonly client: Client,
    private readonly collection: string,
    private readonly dimension: number,
    private readonly batchSize: number,
  ) {
    this.#subjects = subjectsCollectionOf(collection);
  }

  static async connect(options: QdrantVectorStoreOptions): Promise<QdrantVectorStore> {
    const client = new QdrantClient({ url: options.url, apiKey: options.apiKey, checkCompatibility: false });
    const dimension = options.dimension ?? EMBEDDING_DIM;
    await guard(() => ensureCollections(client, options.collection, dimension));
    return new QdrantVectorStore(client, options.collection, dimension, options.upsertBatchSize ?? 256);
  }

  upsertFaces(faces: readonly FaceInput[]): Promise<UpsertResult> {
    return guard(async () => {
      const normalised = normaliseFaces(faces, this.dimension);
      const subjectIds = [...new Set(normalised.map((f) => f.subjectId))];
      const existingSubjects = await this.client.retrieve(this.#subjects, {
        ids: subjectIds.map((id) => toPointUuid(SUBJECT_NS, id)),
        with_payload: true,
        with_vector: false,
      });
      const current = new Map(existingSubjects.map((p) => [String(p.payload?.subject_id), (p.payload?.payload ?? {}) as Payload]));
      const subjectPayloads = new Map<string, Payload>();
      for (const f of normalised) {
        if (f.subjectPayload !== undefined) subjectPayloads.set(f.subjectId, f.subjectPayload);
        else if (!current.has(f.subjectId) && !subjectPayloads.has(f.subjectId)) subjectPayloads.set(f.subjectId, {});
      }
      if (subjectPayloads.size > 0) {
        await this.client.upsert(this.#subjects, {
          wait: true,
          points: [...subjectPayloads].map(([subjectId, payload]) => ({
            id: toPointUuid(SUBJECT_NS, subjectId),
            vector: UNIT,
            payload: { subject_id: subjectId, payload: payload as Record<string, unknown> },
          })),
        });
        for (const [subjectId, payload] of subjectPayloads) {
          if (current.has(subjectId)) await this.#copySubjectPayload(subjectId, payload);
          current.set(subjectId, payload);
        }
      }
      // Keep the first enrolment time on re-upsert, as the embedded store does.
      const old = await this.client.retrieve(this.collection, {
        ids: normalised.map((f) => toPointUuid(FACE_NS, f.faceId)),
        with_payload: ['face_id', 'created_at_ms'],
        with_vector: false,
      });
      const createdAt = new Map(old.map((p) => [String(p.payload?.face_id), Number(p.payload?.created_at_ms)]));
      const now = Date.now();
      const points = normalised.map((f) => ({
        id: toPointUuid(FACE_NS, f.faceId),
        vector: Array.from(f.embedding),
        payload: {
          face_id: f.faceId,
          subject_id: f.subjectId,
          image_sha256: f.imageSha256,
          created_at_ms: createdAt.get(f.faceId) ?? now,
          payload: f.payload as Record<string, unknown>,
          subject_payload: (current.get(f.subjectId) ?? {}) as Record<string, unknown>,
        },
      }));
      for (let i = 0; i < points.length; i += this.batchSize) {
        await this.client.upsert(this.collection, { wait: true, points: points.slice(i, i + this.batchSize) });
      }
      return { faceIds: normalised.map((f) => f.faceId) };
    });
  }

  search(query: Float32Array, options: SearchOptions): Promise<SearchMatch[]> {
    return guard(async () => {
      const { k, minSimilarity, filter } = checkSearch(query, options, this.dimension);
      const hits = await this.client.search(this.collection, {
        vector: Array.from(query),
        limit: k,
        with_payload: true,
        // Qdrant keeps scores strictly above score_threshold; the contract keeps equal ones.
        ...(Number.isFinite(minSimilarity) ? { score_threshold: minSimilarity - SCORE_THRESHOLD_SLACK } : {}),
        ...(filter ? { filter: toQdrantFilter(filter) } : {}),
      });
      return hits.filter((h) => h.score >= minSimilarity).map((h) => {
        const face = toFace(h.payload);
        const subjectPayload = ((h.payload as unknown as FacePointPayload | null)?.subject_payload ?? {}) as Payload;
        return { faceId: face.faceId, subjectId: face.subjectId, similarity: h.score, payload: face.payload, subjectPayload };
      });
    });
  }

  listSubjects(options?: ListSubjectsOptions): Promise<SubjectPage> {
    return guard(async () => {
      const limit = checkPageSize(options);
      if (options?.pageToken && !/^[0-9a-f-]{36}$/.test(options.pageToken)) throw new FacerecError('INVALID_ARGUMENT', 'pageToken is not one this store issued');
      const page = await this.client.scroll(this.#subjects, {
        limit,
        with_payload: true,
        with_vector: false,
        ...(options?.pageToken ? { offset: options.pageToken } : {}),
      });
      const subjects = await Promise.all(
        page.points.map(async (p) => {
          const subjectId = String(p.payload?.subject_id);
          return { subjectId, payload: (p.payload?.payload ?? {}) as Payload, faceCount: await this.#count(subjectId) };
        }),
      );
      const next = page.next_page_offset;
      return next === undefined || next === null ? { subjects } : { subjects, nextPageToken: String(next) };
    });
  }

  getSubject(subjectId: string): Promise<Subject> {
    return guard(async () => {
      const [point] = await this.client.retrieve(this.#subjects, { ids: [toPointUuid(SUBJECT_NS, checkId('subjectId', subjectId))], with_payload: true });
      if (!point) throw new FacerecError('SUBJECT_NOT_FOUND', subjectId, { details: { subjectId } });
      const faces: FaceRecord[] = [];
      let offset: string | number | undefined;
      do {
        const page = await this.client.scroll(this.collection, { filter: bySubject(subjectId), limit: 256, with_payload: true, with_vector: false, ...(offset !== undefined ? { offset } : {}) });
        faces.push(...page.points.map((p) => toFace(p.payload)));
        const next = page.next_page_offset;
        offset = typeof next === 'string' || typeof next === 'number' ? next : undefined;
      } while (offset !== undefined);
      faces.sort((a, b) => a.createdAtMs - b.createdAtMs);
      return { subjectId, payload: (point.payload?.payload ?? {}) as Payload, faceCount: faces.length, faces };
    });
  }

  getFace(faceId: string): Promise<FaceRecord> {
    return guard(async () => {
      const [point] = await this.client.retrieve(this.collection, { ids: [toPointUuid(FACE_NS, checkId('faceId', faceId))], with_payload: true });
      if (!point) throw new FacerecError('FACE_NOT_FOUND', faceId, { details: { faceId } });
      return toFace(point.payload);
    });
  }

  async #count(subjectId?: string): Promise<number> {
    const res = await this.client.count(this.collection, { exact: true, ...(subjectId !== undefined ? { filter: bySubject(subjectId) } : {}) });
    return res.count;
  }

  count(subjectId?: string): Promise<number> {
    return guard(() => this.#count(subjectId === undefined ? undefined : checkId('subjectId', subjectId)));
  }

  stats(): Promise<StoreStats> {
    return guard(async () => ({
      backend: 'qdrant' as const,
      faceCount: await this.#count(),
      subjectCount: (await this.client.count(this.#subjects, { exact: true })).count,
      dimension: this.dimension,
      searchMode: 'remote' as const,
    }));
  }

  updateSubject(subjectId: string, payload: Payload): Promise<void> {
    return guard(async () => {
      const id = toPointUuid(SUBJECT_NS, checkId('subjectId', subjectId));
      const checked = checkPayload(payload, 'payload');
      const [point] = await this.client.retrieve(this.#subjects, { ids: [id], with_payload: false });
      if (!point) throw new FacerecError('SUBJECT_NOT_FOUND', subjectId, { details: { subjectId } });
      await this.client.upsert(this.#subjects, { wait: true, points: [{ id, vector: UNIT, payload: { subject_id: subjectId, payload: checked as Record<string, unknown> } }] });
      await this.#copySubjectPayload(subjectId, checked);
    });
  }

  /** Replaces the `subject_payload` key (whole value) on every face of the subject. */
  async #copySubjectPayload(subjectId: string, payload: Payload): Promise<void> {
    await this.client.setPayload(this.collection, {
      wait: true,
      payload: { subject_payload: payload as Record<string, unknown> },
      filter: bySubject(subjectId) as Extract<Parameters<Client['setPayload']>[1], { filter?: unknown }>['filter'],
    });
  }

  deleteSubject(subjectId: string): Promise<number> {
    return guard(async () => {
      const id = toPointUuid(SUBJECT_NS, checkId('subjectId', subjectId));
      const [point] = await this.client.retrieve(this.#subjects, { ids: [id], with_payload: false });
      if (!point) throw new FacerecError('SUBJECT_NOT_FOUND', subjectId, { details: { subjectId } });
      const removed = await this.#count(subjectId);
      await this.client.delete(this.collection, { wait: true, filter: bySubject(subjectId) as Extract<Parameters<Client['delete']>[1], { filter: unknown }>['filter'] });
      await this.client.delete(this.#subjects, { wait: true, points: [id] });
      return removed;
    });
  }

  deleteFace(faceId: string): Promise<void> {
    return guard(async () => {
      const id = toPointUuid(FACE_NS, checkId('faceId', faceId));
      const [point] = await this.client.retrieve(this.collection, { ids: [id], with_payload: false });
      if (!point) throw new FacerecError('FACE_NOT_FOUND', faceId, { details: { faceId } });
      await this.client.delete(this.collection, { wait: true, points: [id] });
    });
  }

  async close(): Promise<void> {
    // The REST client holds no connection state worth closing.
  }
}

/** Our own errors pass through; anything from the client or the network is STORE_UNAVAILABLE. */
async function guard<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isFacerecError(err)) throw err;
    throw new FacerecError('STORE_UNAVAILABLE', `qdrant: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}
