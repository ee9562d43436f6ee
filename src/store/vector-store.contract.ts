/**
 * One behavioural contract for every `VectorStore` backend. Each backend's
 * spec calls `runVectorStoreContract` with a factory that returns a fresh,
 * empty store; the Qdrant run is gated on QDRANT_URL.
 */
import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';

import { isFacerecError, type ErrorCode } from '../errors.js';
import { deriveFaceId, sha256Hex } from './face-id.js';
import { dot } from '../embedding.js';
import { nearby, randomUnit, seededRandom } from './test-vectors.js';
import type { VectorStore } from './vector-store.js';

export const CONTRACT_DIM = 16;

export interface ContractTarget {
  readonly name: string;
  /** A fresh, empty store of CONTRACT_DIM dimensions. */
  create(): Promise<VectorStore>;
  /**
   * Opens the store called `name` (a data directory, a collection): empty the
   * first time, and after a close everything written before it, as a restarted
   * server would find it. The restart test is skipped without it.
   */
  reopen?(name: string): Promise<VectorStore>;
  /** Runs after every test (a test double checks here that the test stayed inside what it models). */
  afterEach?(): Promise<void>;
  /** Optional per-run cleanup (temporary directories, test collections). */
  cleanup?(): Promise<void>;
  readonly skip?: string | false;
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isFacerecError(err, code), `expected ${code}, got ${String(err)}`);
    return true;
  });
}

export function runVectorStoreContract(target: ContractTarget): void {
  describe(`VectorStore contract: ${target.name}`, { skip: target.skip ?? false }, () => {
    const rnd = seededRandom(42);
    const v = () => randomUnit(CONTRACT_DIM, rnd);
    const open: VectorStore[] = [];
    const fresh = async () => {
      const store = await target.create();
      open.push(store);
      return store;
    };
    after(async () => {
      for (const store of open) await store.close();
      await target.cleanup?.();
    });
    if (target.afterEach) afterEach(() => target.afterEach!());

    it('keeps every acknowledged write across a close and a reopen (restart)', { skip: target.reopen ? false : 'no reopen() for this backend' }, async () => {
      const [a1, a2, b1] = [v(), v(), v()];
      const before = await target.reopen!('restart');
      await before.upsertFaces([
        { faceId: 'a1', subjectId: 'ada', embedding: a1, payload: { camera: 'door' }, subjectPayload: { name: 'Ada' } },
        { faceId: 'a2', subjectId: 'ada', embedding: a2 },
        { faceId: 'b1', subjectId: 'bob', embedding: b1, subjectPayload: { name: 'Bob' } },
        { faceId: 'c1', subjectId: 'cy', embedding: v() },
      ]);
      await before.updateSubject('ada', { name: 'Ada L.' });
      await before.deleteFace('a2');
      await before.deleteSubject('cy');
      await before.close();

      const after = await target.reopen!('restart');
      open.push(after);
      assert.equal(await after.count(), 2);
      assert.deepEqual((await after.getSubject('ada')).payload, { name: 'Ada L.' });
      assert.deepEqual((await after.getFace('a1')).payload, { camera: 'door' });
      await rejectsWith(after.getFace('a2'), 'FACE_NOT_FOUND');
      await rejectsWith(after.getSubject('cy'), 'SUBJECT_NOT_FOUND');
      assert.equal((await after.search(b1, { k: 1 }))[0]?.faceId, 'b1');
      const [best] = await after.search(a1, { k: 1, rankBy: 'subject' });
      assert.equal(best?.subjectId, 'ada');
      assert.ok(best!.similarity > 0.999, 'ada\'s template is a1 alone, as before the restart');
      const stats = await after.stats();
      assert.equal(stats.subjectCount, 2);
      assert.equal(stats.dimension, CONTRACT_DIM);
      // And it takes writes again.
      await after.upsertFaces([{ faceId: 'b2', subjectId: 'bob', embedding: v() }]);
      assert.equal(await after.count('bob'), 2);
    });

    it('upserts a batch and reads faces back', async () => {
      const store = await fresh();
      const res = await store.upsertFaces([
        { faceId: 'a1', subjectId: 'ada', embedding: v(), payload: { camera: 'door' }, subjectPayload: { name: 'Ada' } },
        { faceId: 'a2', subjectId: 'ada', embedding: v() },
        { faceId: 'b1', subjectId: 'bob', embedding: v() },
      ]);
      assert.deepEqual(res.faceIds, ['a1', 'a2', 'b1']);
      assert.equal(await store.count(), 3);
      assert.equal(await store.count('ada'), 2);
      const face = await store.getFace('a1');
      assert.equal(face.subjectId, 'ada');
      assert.deepEqual(face.payload, { camera: 'door' });
      const stats = await store.stats();
      assert.equal(stats.faceCount, 3);
      assert.equal(stats.subjectCount, 2);
      assert.equal(stats.dimension, CONTRACT_DIM);
    });

    it('derives face ids from subject + image hash, so re-enrolling is idempotent', async () => {
      const store = await fresh();
      const hash = sha256Hex('photo-bytes');
      const first = await store.upsertFaces([{ subjectId: 'ada', imageSha256: hash, embedding: v() }]);
      assert.equal(first.faceIds[0], deriveFaceId('ada', hash));
      const created = (await store.getFace(first.faceIds[0]!)).createdAtMs;
      const moved = v();
      const again = await store.upsertFaces([{ subjectId: 'ada', imageSha256: hash, embedding: moved, payload: { v: 2 } }]);
      assert.deepEqual(again.faceIds, first.faceIds);
      assert.equal(await store.count(), 1);
      const face = await store.getFace(first.faceIds[0]!);
      assert.equal(face.createdAtMs, created);
      assert.deepEqual(face.payload, { v: 2 });
      const [hit] = await store.search(moved, { k: 1 });
      assert.ok(hit && hit.similarity > 0.999, 'the replaced embedding is the one searched');
      // Same photo, other subject: a different face.
      const other = await store.upsertFaces([{ subjectId: 'bob', imageSha256: hash, embedding: v() }]);
      assert.notEqual(other.faceIds[0], first.faceIds[0]);
    });

    it('refuses a face id that belongs to another subject with ALREADY_EXISTS; the same subject updates it', async () => {
      const store = await fresh();
      const original = v();
      await store.upsertFaces([{ faceId: 'badge-7', subjectId: 'ada', embedding: original, payload: { v: 1 } }]);
      const taken = (err: unknown) => {
        assert.ok(isFacerecError(err, 'ALREADY_EXISTS'), `expected ALREADY_EXISTS, got ${String(err)}`);
        assert.match(err.message, /"badge-7" belongs to subject "ada"/);
        return true;
      };
      await assert.rejects(store.upsertFaces([{ faceId: 'badge-7', subjectId: 'bob', embedding: v() }]), taken);
      // The whole batch is refused, the new subject included, and the face is left as it was.
      await assert.rejects(
        store.upsertFaces([
          { faceId: 'cy-1', subjectId: 'cy', embedding: v() },
          { faceId: 'badge-7', subjectId: 'bob', embedding: v(), subjectPayload: { name: 'Bob' } },
        ]),
        taken,
      );
      await rejectsWith(store.getFace('cy-1'), 'FACE_NOT_FOUND');
      await rejectsWith(store.getSubject('bob'), 'SUBJECT_NOT_FOUND');
      await rejectsWith(store.getSubject('cy'), 'SUBJECT_NOT_FOUND');
      const face = await store.getFace('badge-7');
      assert.equal(face.subjectId, 'ada');
      assert.deepEqual(face.payload, { v: 1 });
      assert.equal((await store.search(original, { k: 1 }))[0]?.faceId, 'badge-7');
      assert.equal(await store.count(), 1);
      // One batch naming the same new id for two subjects: the first keeps it.
      await assert.rejects(
        store.upsertFaces([
          { faceId: 'twice', subjectId: 'ada', embedding: v() },
          { faceId: 'twice', subjectId: 'bob', embedding: v() },
        ]),
        (err) => isFacerecError(err, 'ALREADY_EXISTS') && /"twice" belongs to subject "ada"/.test(err.message),
      );
      await rejectsWith(store.getFace('twice'), 'FACE_NOT_FOUND');
      // Same subject: an idempotent update of that face.
      const replaced = v();
      await store.upsertFaces([{ faceId: 'badge-7', subjectId: 'ada', embedding: replaced, payload: { v: 2 } }]);
      assert.equal(await store.count(), 1);
      assert.deepEqual((await store.getFace('badge-7')).payload, { v: 2 });
      assert.equal((await store.search(replaced, { k: 1 }))[0]?.faceId, 'badge-7');
      // Deleted, the id is free for anyone.
      await store.deleteFace('badge-7');
      await store.upsertFaces([{ faceId: 'badge-7', subjectId: 'bob', embedding: v() }]);
      assert.equal((await store.getFace('badge-7')).subjectId, 'bob');
    });

    it('rejects bad input with INVALID_ARGUMENT', async () => {
      const store = await fresh();
      await rejectsWith(store.upsertFaces([{ subjectId: 'ada', embedding: v() }]), 'INVALID_ARGUMENT');
      await rejectsWith(store.upsertFaces([{ faceId: 'x', subjectId: 'ada', embedding: new Float32Array(CONTRACT_DIM + 1) }]), 'INVALID_ARGUMENT');
      await rejectsWith(store.upsertFaces([{ faceId: 'x', subjectId: 'ada', embedding: new Float32Array(CONTRACT_DIM).fill(1) }]), 'INVALID_ARGUMENT');
      await rejectsWith(store.upsertFaces([{ faceId: 'x', subjectId: '', embedding: v() }]), 'INVALID_ARGUMENT');
      await rejectsWith(store.upsertFaces([]), 'INVALID_ARGUMENT');
      await rejectsWith(store.search(v(), { k: 0 }), 'INVALID_ARGUMENT');
      assert.equal(await store.count(), 0);
    });

    it('searches best first, honours k and the similarity floor', async () => {
      const store = await fresh();
      assert.deepEqual(await store.search(v(), { k: 3 }), []);
      const base = v();
      const faces = Array.from({ length: 20 }, (_, i) => ({ faceId: `f${i}`, subjectId: `s${i % 5}`, embedding: i === 7 ? base : v() }));
      await store.upsertFaces(faces);
      const query = nearby(base, 0.02, rnd);
      const hits = await store.search(query, { k: 5 });
      assert.equal(hits.length, 5);
      assert.equal(hits[0]!.faceId, 'f7');
      assert.equal(hits[0]!.subjectId, 's2');
      for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1]!.similarity >= hits[i]!.similarity);
      assert.ok(Math.abs(hits[0]!.similarity - dot(query, base)) < 1e-4, 'similarity is the cosine');
      const floored = await store.search(query, { k: 5, minSimilarity: 0.9 });
      assert.deepEqual(floored.map((h) => h.faceId), ['f7']);
      assert.deepEqual(await store.search(query, { k: 5, minSimilarity: 0.99999 }), []);
      // The floor is inclusive: a match scoring exactly minSimilarity is kept.
      assert.equal((await store.search(query, { k: 5, minSimilarity: hits[0]!.similarity })).length, 1);
      assert.equal((await store.search(query, { k: 100 })).length, 20);
    });

    it('ranks subjects by template: the normalised mean of their faces, kept in step with every write', async () => {
      const store = await fresh();
      const a1 = v();
      const a2 = v();
      const mean = (x: Float32Array, y: Float32Array) => {
        const m = x.map((value, i) => value + y[i]!);
        const norm = Math.sqrt(dot(m, m));
        return m.map((value) => value / norm);
      };
      // bob's one face lies nearer the query than either of ada's, but ada's template is nearest.
      const query = mean(a1, a2);
      const bobFace = nearby(query, 0.45, rnd);
      await store.upsertFaces([
        { faceId: 'a1', subjectId: 'ada', embedding: a1, subjectPayload: { name: 'Ada' } },
        { faceId: 'a2', subjectId: 'ada', embedding: a2 },
        { faceId: 'b1', subjectId: 'bob', embedding: bobFace },
        { faceId: 'c1', subjectId: 'cy', embedding: v() },
      ]);
      assert.ok(dot(query, bobFace) > Math.max(dot(query, a1), dot(query, a2)), 'the set-up: bob has the nearest single face');
      const byFace = await store.search(query, { k: 4 });
      assert.equal(byFace[0]!.subjectId, 'bob');
      assert.equal(byFace.filter((m) => m.subjectId === 'ada').length, 2, 'by face, a subject can appear once per face');

      const bySubject = await store.search(query, { k: 3, rankBy: 'subject' });
      assert.deepEqual(bySubject.map((m) => m.subjectId).slice(0, 2), ['ada', 'bob']);
      assert.equal(new Set(bySubject.map((m) => m.subjectId)).size, bySubject.length, 'each subject once');
      assert.ok(Math.abs(bySubject[0]!.similarity - 1) < 1e-4, 'similarity is the template\'s');
      assert.ok(['a1', 'a2'].includes(bySubject[0]!.faceId));
      assert.equal((await store.search(a2, { k: 1, rankBy: 'subject' }))[0]!.faceId, 'a2', "a match names the subject's closest face");
      assert.deepEqual(bySubject[0]!.subjectPayload, { name: 'Ada' });
      assert.ok(Math.abs(bySubject[1]!.similarity - dot(query, bobFace)) < 1e-4, 'a one-face template is that face');
      // k counts subjects, and the floor applies to the template similarity.
      assert.equal((await store.search(query, { k: 1, rankBy: 'subject' })).length, 1);
      assert.deepEqual((await store.search(query, { k: 3, rankBy: 'subject', minSimilarity: 0.999 })).map((m) => m.subjectId), ['ada']);

      // Deleting a face recomputes the template from the faces left.
      await store.deleteFace('a2');
      const afterDelete = await store.search(a1, { k: 1, rankBy: 'subject' });
      assert.equal(afterDelete[0]!.subjectId, 'ada');
      assert.ok(Math.abs(afterDelete[0]!.similarity - 1) < 1e-4, 'ada\'s template is now a1 alone');
      // Adding a face moves it again; a deleted subject is gone.
      await store.upsertFaces([{ faceId: 'a3', subjectId: 'ada', embedding: a2 }]);
      const again = await store.search(query, { k: 1, rankBy: 'subject' });
      assert.equal(again[0]!.subjectId, 'ada');
      assert.ok(Math.abs(again[0]!.similarity - 1) < 1e-4);
      await store.deleteSubject('ada');
      assert.ok((await store.search(query, { k: 3, rankBy: 'subject' })).every((m) => m.subjectId !== 'ada'));
    });

    it('ranks subjects by template within a filter', async () => {
      const store = await fresh();
      const base = v();
      await store.upsertFaces([
        { faceId: 'x1', subjectId: 'x', embedding: nearby(base, 0.1, rnd), subjectPayload: { team: 'red' } },
        { faceId: 'y1', subjectId: 'y', embedding: nearby(base, 0.1, rnd), subjectPayload: { team: 'blue' } },
      ]);
      const red = await store.search(base, { k: 5, rankBy: 'subject', filter: { team: 'red' } });
      assert.deepEqual(red.map((m) => m.subjectId), ['x']);
    });

    it('filters on equality of top-level payload fields', async () => {
      const store = await fresh();
      const base = v();
      await store.upsertFaces([
        { faceId: 'door', subjectId: 'ada', embedding: base, payload: { site: 'hq', floor: 1, vip: true } },
        { faceId: 'lab', subjectId: 'bob', embedding: nearby(base, 0.3, rnd), payload: { site: 'lab', floor: 1, vip: false } },
        { faceId: 'hq2', subjectId: 'cy', embedding: v(), payload: { site: 'hq', floor: 2 } },
      ]);
      const ids = async (filter: Record<string, unknown>) => (await store.search(base, { k: 10, filter })).map((h) => h.faceId).sort();
      assert.deepEqual(await ids({ site: 'hq' }), ['door', 'hq2']);
      assert.deepEqual(await ids({ site: 'hq', floor: 1 }), ['door']);
      assert.deepEqual(await ids({ vip: false }), ['lab']);
      assert.deepEqual(await ids({ floor: 1 }), ['door', 'lab']);
      assert.deepEqual(await ids({ site: 'nowhere' }), []);
      await rejectsWith(store.search(base, { k: 1, filter: { 'a.b': 1 } }), 'INVALID_ARGUMENT');
      await rejectsWith(store.search(base, { k: 1, filter: { site: { nested: true } } }), 'INVALID_ARGUMENT');
      await rejectsWith(store.search(base, { k: 1, filter: { floor: 1.5 } }), 'INVALID_ARGUMENT');
      const [top] = await store.search(base, { k: 1, filter: { site: 'lab' } });
      assert.equal(top?.faceId, 'lab');
    });

    it('returns and filters on the subject payload as it is now', async () => {
      const store = await fresh();
      const base = v();
      await store.upsertFaces([
        { faceId: 'a1', subjectId: 'ada', embedding: base, payload: { camera: 'door' }, subjectPayload: { name: 'Ada', team: 'math' } },
        { faceId: 'b1', subjectId: 'bob', embedding: nearby(base, 0.3, rnd), subjectPayload: { name: 'Bob', team: 'ops' } },
      ]);
      const [top] = await store.search(base, { k: 1 });
      assert.deepEqual(top?.payload, { camera: 'door' });
      assert.deepEqual(top?.subjectPayload, { name: 'Ada', team: 'math' });
      const ids = async (filter: Record<string, unknown>) => (await store.search(base, { k: 10, filter })).map((h) => h.faceId).sort();
      assert.deepEqual(await ids({ team: 'ops' }), ['b1']);
      assert.deepEqual(await ids({ team: 'math', camera: 'door' }), ['a1']);
      await store.updateSubject('ada', { name: 'Ada L.', team: 'ops' });
      const [renamed] = await store.search(base, { k: 1 });
      assert.deepEqual(renamed?.subjectPayload, { name: 'Ada L.', team: 'ops' });
      assert.deepEqual(await ids({ team: 'ops' }), ['a1', 'b1']);
      // A later face of a known subject carries the subject's current payload.
      await store.upsertFaces([{ faceId: 'a2', subjectId: 'ada', embedding: nearby(base, 0.1, rnd) }]);
      assert.deepEqual(await ids({ name: 'Ada L.' }), ['a1', 'a2']);
    });

    it('pages through subjects with face counts', async () => {
      const store = await fresh();
      const faces = [];
      for (let s = 0; s < 23; s++) for (let f = 0; f <= s % 3; f++) faces.push({ faceId: `s${s}-f${f}`, subjectId: `subj-${s}`, embedding: v() });
      await store.upsertFaces(faces);
      const seen = new Map<string, number>();
      let pageToken: string | undefined;
      let pages = 0;
      do {
        const page = await store.listSubjects({ limit: 10, ...(pageToken ? { pageToken } : {}) });
        pages++;
        assert.ok(page.subjects.length <= 10);
        for (const s of page.subjects) {
          assert.ok(!seen.has(s.subjectId), `${s.subjectId} listed twice`);
          seen.set(s.subjectId, s.faceCount);
        }
        pageToken = page.nextPageToken;
      } while (pageToken && pages < 10);
      assert.equal(seen.size, 23);
      for (let s = 0; s < 23; s++) assert.equal(seen.get(`subj-${s}`), (s % 3) + 1);
      await rejectsWith(store.listSubjects({ limit: 0 }), 'INVALID_ARGUMENT');
    });

    it('keeps subject payload until replaced, updates it, and lists its faces', async () => {
      const store = await fresh();
      await store.upsertFaces([{ faceId: 'a1', subjectId: 'ada', embedding: v(), subjectPayload: { name: 'Ada' } }]);
      await store.upsertFaces([{ faceId: 'a2', subjectId: 'ada', embedding: v() }]);
      let subject = await store.getSubject('ada');
      assert.deepEqual(subject.payload, { name: 'Ada' });
      assert.equal(subject.faceCount, 2);
      assert.deepEqual(subject.faces.map((f) => f.faceId).sort(), ['a1', 'a2']);
      await store.upsertFaces([{ faceId: 'a3', subjectId: 'ada', embedding: v(), subjectPayload: { name: 'Ada L.' } }]);
      subject = await store.getSubject('ada');
      assert.deepEqual(subject.payload, { name: 'Ada L.' });
      await store.updateSubject('ada', { name: 'Ada Lovelace', team: 'math' });
      subject = await store.getSubject('ada');
      assert.deepEqual(subject.payload, { name: 'Ada Lovelace', team: 'math' });
      assert.equal(subject.faceCount, 3);
      await rejectsWith(store.updateSubject('nobody', {}), 'SUBJECT_NOT_FOUND');
      await rejectsWith(store.getSubject('nobody'), 'SUBJECT_NOT_FOUND');
      await rejectsWith(store.getFace('nothing'), 'FACE_NOT_FOUND');
    });

    it('deletes a face: gone from search and counts', async () => {
      const store = await fresh();
      const target = v();
      await store.upsertFaces([
        { faceId: 'keep', subjectId: 'ada', embedding: v() },
        { faceId: 'drop', subjectId: 'ada', embedding: target },
      ]);
      await store.deleteFace('drop');
      assert.equal(await store.count(), 1);
      assert.ok((await store.search(target, { k: 5 })).every((h) => h.faceId !== 'drop'));
      await rejectsWith(store.getFace('drop'), 'FACE_NOT_FOUND');
      await rejectsWith(store.deleteFace('drop'), 'FACE_NOT_FOUND');
      assert.equal((await store.getSubject('ada')).faceCount, 1);
    });

    it('deletes a subject with all its faces', async () => {
      const store = await fresh();
      const ada = v();
      await store.upsertFaces([
        { faceId: 'a1', subjectId: 'ada', embedding: ada },
        { faceId: 'a2', subjectId: 'ada', embedding: nearby(ada, 0.05, rnd) },
        { faceId: 'b1', subjectId: 'bob', embedding: v() },
      ]);
      assert.equal(await store.deleteSubject('ada'), 2);
      assert.equal(await store.count(), 1);
      assert.equal(await store.count('ada'), 0);
      assert.ok((await store.search(ada, { k: 10 })).every((h) => h.subjectId !== 'ada'));
      await rejectsWith(store.getSubject('ada'), 'SUBJECT_NOT_FOUND');
      await rejectsWith(store.deleteSubject('ada'), 'SUBJECT_NOT_FOUND');
      const page = await store.listSubjects();
      assert.deepEqual(page.subjects.map((s) => s.subjectId), ['bob']);
      assert.equal((await store.stats()).subjectCount, 1);
    });

    it('serves concurrent readers and writers', async () => {
      const store = await fresh();
      const writes = Array.from({ length: 20 }, (_, i) => store.upsertFaces([{ faceId: `c${i}`, subjectId: `s${i % 4}`, embedding: v() }]));
      const reads = Array.from({ length: 20 }, () => store.search(v(), { k: 3 }));
      await Promise.all([...writes, ...reads]);
      assert.equal(await store.count(), 20);
    });
  });
}
