import { QdrantClient } from '@qdrant/js-client-rest';

import { FacerecError, isFacerecError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { faceIdTaken, toPointUuid } from '../face-id.js';
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
import { meanTemplate } from '../subject-template.js';
import { candidateFaceCount, closestFacePerSubject, rankByTemplate } from '../subject-ranking.js';
import { ensureCollections, SINGLE_NODE_LAYOUT, subjectsCollectionOf, templatesCollectionOf } from './collections.js';
import type { ReviewStore } from '../review-store.js';
import { openQdrantReviewStore } from './review-collection.js';

export interface QdrantVectorStoreOptions {
  readonly url: string;
  readonly apiKey?: string | undefined;
  /** Faces collection; subjects live in `<collection>_subjects`. */
  readonly collection: string;
  readonly dimension?: number;
  /** Shards of each collection facerec creates (Qdrant's `shard_number`); default 1. */
  readonly shardNumber?: number;
  /** Copies of each shard on different Qdrant nodes (`replication_factor`); default 1. */
  readonly replicationFactor?: number;
  /** Points per upsert request. */
  readonly upsertBatchSize?: number;
  /** Failed Qdrant calls are logged here with their cause; callers get STORE_UNAVAILABLE. */
  readonly logger: Logger;
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
const TEMPLATE_NS = 'template';
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
  readonly #templates: string;

  private constructor(
    private readonly client: Client,
    private readonly collection: string,
    private readonly dimension: number,
    private readonly batchSize: number,
    private readonly logger: Logger,
  ) {
    this.#subjects = subjectsCollectionOf(collection);
    this.#templates = templatesCollectionOf(collection);
  }

  static async connect(options: QdrantVectorStoreOptions): Promise<QdrantVectorStore> {
    const client = new QdrantClient({ url: options.url, apiKey: options.apiKey, checkCompatibility: false });
    const dimension = options.dimension ?? EMBEDDING_DIM;
    const layout = {
      shardNumber: options.shardNumber ?? SINGLE_NODE_LAYOUT.shardNumber,
      replicationFactor: options.replicationFactor ?? SINGLE_NODE_LAYOUT.replicationFactor,
    };
    const { createdTemplates } = await guard(options.logger, 'connect', () => ensureCollections(client, options.collection, dimension, layout, options.logger));
    const store = new QdrantVectorStore(client, options.collection, dimension, options.upsertBatchSize ?? 256, options.logger);
    if (createdTemplates) {
      const subjects = await store.#guard('buildTemplates', () => store.#buildAllTemplates());
      if (subjects > 0) options.logger.info('store: subject templates computed for an existing gallery', { collection: options.collection, subjects });
    }
    options.logger.info('store: Qdrant collections ready', { url: options.url, collection: options.collection, dimension, ...layout });
    return store;
  }

  /** Every subject's template from its faces (a gallery from before templates). */
  async #buildAllTemplates(): Promise<number> {
    let built = 0;
    let offset: string | number | undefined;
    do {
      const page = await this.client.scroll(this.#subjects, { limit: 256, with_payload: ['subject_id'], with_vector: false, ...(offset !== undefined ? { offset } : {}) });
      for (const point of page.points) {
        await this.#recomputeTemplate(String(point.payload?.subject_id));
        built++;
      }
      const next = page.next_page_offset;
      offset = typeof next === 'string' || typeof next === 'number' ? next : undefined;
    } while (offset !== undefined);
    return built;
  }

  /**
   * Rewrites one subject's template from its faces, after a write to them.
   * Qdrant has no transactions: two writers changing one subject's faces at
   * the same moment can leave the template of the earlier read until the
   * subject's next write. Ingest jobs shard by subject, so they never do.
   */
  async #recomputeTemplate(subjectId: string): Promise<void> {
    const embeddings: Float32Array[] = [];
    let offset: string | number | undefined;
    do {
      const page = await this.client.scroll(this.collection, { filter: bySubject(subjectId), limit: 256, with_payload: false, with_vector: true, ...(offset !== undefined ? { offset } : {}) });
      for (const point of page.points) embeddings.push(Float32Array.from(point.vector as number[]));
      const next = page.next_page_offset;
      offset = typeof next === 'string' || typeof next === 'number' ? next : undefined;
    } while (offset !== undefined);
    const id = toPointUuid(TEMPLATE_NS, subjectId);
    const template = meanTemplate(embeddings);
    if (template) {
      await this.client.upsert(this.#templates, { wait: true, points: [{ id, vector: Array.from(template), payload: { subject_id: subjectId, face_count: embeddings.length } }] });
    } else {
      await this.client.delete(this.#templates, { wait: true, points: [id] });
    }
  }

  #guard<T>(operation: string, fn: () => Promise<T> | T): Promise<T> {
    return guard(this.logger, operation, fn);
  }

  /**
   * The faces the batch would replace, by face id. A face id already taken by
   * another subject fails the whole batch, before anything is written.
   *
   * This is a read, then a write: two replicas enrolling the same new face id
   * for different subjects at the same moment can both pass the check, and the
   * later upsert wins. Qdrant has no conditional insert to close that gap; the
   * embedded store checks inside its write transaction and has no such race.
   */
  async #existingFaces(faces: readonly { faceId: string; subjectId: string }[]): Promise<Map<string, { subjectId: string; createdAtMs: number }>> {
    const ids = [...new Set(faces.map((f) => toPointUuid(FACE_NS, f.faceId)))];
    const points = await this.client.retrieve(this.collection, { ids, with_payload: ['face_id', 'subject_id', 'created_at_ms'], with_vector: false });
    const existing = new Map(points.map((p) => [String(p.payload?.face_id), { subjectId: String(p.payload?.subject_id), createdAtMs: Number(p.payload?.created_at_ms) }]));
    // The batch is applied in order, so a face id repeated in it belongs to its first subject.
    const owner = new Map([...existing].map(([faceId, face]) => [faceId, face.subjectId]));
    for (const face of faces) {
      const current = owner.get(face.faceId);
      if (current === undefined) owner.set(face.faceId, face.subjectId);
      else if (current !== face.subjectId) throw faceIdTaken(face.faceId, current, face.subjectId);
    }
    return existing;
  }

  upsertFaces(faces: readonly FaceInput[]): Promise<UpsertResult> {
    return this.#guard('upsertFaces', async () => {
      const normalised = normaliseFaces(faces, this.dimension);
      // Checked first, so a refused batch writes nothing (not even its new subjects).
      const existing = await this.#existingFaces(normalised);
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
      const now = Date.now();
      const points = normalised.map((f) => ({
        id: toPointUuid(FACE_NS, f.faceId),
        vector: Array.from(f.embedding),
        payload: {
          face_id: f.faceId,
          subject_id: f.subjectId,
          image_sha256: f.imageSha256,
          // Keep the first enrolment time on re-upsert, as the embedded store does.
          created_at_ms: existing.get(f.faceId)?.createdAtMs ?? now,
          payload: f.payload as Record<string, unknown>,
          subject_payload: (current.get(f.subjectId) ?? {}) as Record<string, unknown>,
        },
      }));
      for (let i = 0; i < points.length; i += this.batchSize) {
        await this.client.upsert(this.collection, { wait: true, points: points.slice(i, i + this.batchSize) });
      }
      for (const subjectId of subjectIds) await this.#recomputeTemplate(subjectId);
      return { faceIds: normalised.map((f) => f.faceId) };
    });
  }

  search(query: Float32Array, options: SearchOptions): Promise<SearchMatch[]> {
    return this.#guard('search', async () => {
      const { k, minSimilarity, filter, rankBy } = checkSearch(query, options, this.dimension);
      if (rankBy === 'face') return this.#nearestFaces(query, k, minSimilarity, filter);
      const closest = closestFacePerSubject(await this.#nearestFaces(query, candidateFaceCount(k), -Infinity, filter));
      const points = await this.client.retrieve(this.#templates, { ids: [...closest.keys()].map((id) => toPointUuid(TEMPLATE_NS, id)), with_payload: ['subject_id'], with_vector: true });
      const templates = new Map(points.map((p) => [String(p.payload?.subject_id), Float32Array.from(p.vector as number[])] as const));
      return rankByTemplate(query, closest, templates, k, minSimilarity);
    });
  }

  async #nearestFaces(query: Float32Array, k: number, minSimilarity: number, filter: Payload | undefined): Promise<SearchMatch[]> {
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
  }

  listSubjects(options?: ListSubjectsOptions): Promise<SubjectPage> {
    return this.#guard('listSubjects', async () => {
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
    return this.#guard('getSubject', async () => {
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
    return this.#guard('getFace', async () => {
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
    return this.#guard('count', () => this.#count(subjectId === undefined ? undefined : checkId('subjectId', subjectId)));
  }

  stats(): Promise<StoreStats> {
    return this.#guard('stats', async () => ({
      backend: 'qdrant' as const,
      faceCount: await this.#count(),
      subjectCount: (await this.client.count(this.#subjects, { exact: true })).count,
      dimension: this.dimension,
      searchMode: 'remote' as const,
    }));
  }

  updateSubject(subjectId: string, payload: Payload): Promise<void> {
    return this.#guard('updateSubject', async () => {
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
    return this.#guard('deleteSubject', async () => {
      const id = toPointUuid(SUBJECT_NS, checkId('subjectId', subjectId));
      const [point] = await this.client.retrieve(this.#subjects, { ids: [id], with_payload: false });
      if (!point) throw new FacerecError('SUBJECT_NOT_FOUND', subjectId, { details: { subjectId } });
      const removed = await this.#count(subjectId);
      await this.client.delete(this.collection, { wait: true, filter: bySubject(subjectId) as Extract<Parameters<Client['delete']>[1], { filter: unknown }>['filter'] });
      await this.client.delete(this.#templates, { wait: true, points: [toPointUuid(TEMPLATE_NS, subjectId)] });
      await this.client.delete(this.#subjects, { wait: true, points: [id] });
      return removed;
    });
  }

  deleteFace(faceId: string): Promise<void> {
    return this.#guard('deleteFace', async () => {
      const id = toPointUuid(FACE_NS, checkId('faceId', faceId));
      const [point] = await this.client.retrieve(this.collection, { ids: [id], with_payload: ['subject_id'] });
      if (!point) throw new FacerecError('FACE_NOT_FOUND', faceId, { details: { faceId } });
      await this.client.delete(this.collection, { wait: true, points: [id] });
      await this.#recomputeTemplate(String(point.payload?.subject_id));
    });
  }

  /** The review list of unknown faces, in `<collection>_review` (review-collection.ts). */
  openReviewStore(): Promise<ReviewStore> {
    return openQdrantReviewStore(this.client, this.collection, this.dimension, (operation, fn) => this.#guard(operation, fn));
  }

  async close(): Promise<void> {
    // The REST client holds no connection state worth closing.
  }
}

/**
 * Our own errors pass through; anything from the client or the network is
 * STORE_UNAVAILABLE, logged with its cause (the HTTP status and Qdrant's
 * reason), which the client's message does not carry in full.
 */
async function guard<T>(logger: Logger, operation: string, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isFacerecError(err)) throw err;
    logger.warn('store: Qdrant call failed', { operation, cause: describeQdrantError(err) });
    throw new FacerecError('STORE_UNAVAILABLE', `qdrant: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

/** The client's ApiError keeps Qdrant's JSON reason in `data`; a network error its cause. */
function describeQdrantError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const data = (err as { data?: unknown }).data;
  const cause = (err as { cause?: unknown }).cause;
  const extra = data !== undefined ? ` ${JSON.stringify(data)}` : cause !== undefined ? ` (${String(cause)})` : '';
  return `${err.message}${extra}`;
}
