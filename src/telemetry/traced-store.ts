/** A VectorStore whose searches and writes each run in a span (store.search, store.upsert, store.delete). */
import type { VectorStore } from '../store/vector-store.js';
import { ATTR, SPAN } from './names.js';
import { allowedAttributes, withSpan, type SpanPrivacy, type Tracer } from './spans.js';

export function traceStore(store: VectorStore, tracer: Tracer, privacy: SpanPrivacy): VectorStore {
  const subject = (subjectId: string) => allowedAttributes({ [ATTR.subjectId]: subjectId }, privacy);
  return {
    search: (query, options) =>
      withSpan(tracer, SPAN.storeSearch, async (span) => {
        const matches = await store.search(query, options);
        span.setAttribute(ATTR.storeMatches, matches.length);
        return matches;
      }, { [ATTR.storeTopK]: options.k }),
    upsertFaces: (faces) => {
      // One subject per call is the common case (an enrolment); a batch of several names none.
      const subjects = new Set(faces.map((face) => face.subjectId));
      const [only] = subjects;
      const attributes = { [ATTR.facesCount]: faces.length, ...(subjects.size === 1 && only !== undefined ? subject(only) : {}) };
      return withSpan(tracer, SPAN.storeUpsert, () => store.upsertFaces(faces), attributes);
    },
    deleteSubject: (subjectId) =>
      withSpan(tracer, SPAN.storeDelete, async (span) => {
        const deleted = await store.deleteSubject(subjectId);
        span.setAttribute(ATTR.facesCount, deleted);
        return deleted;
      }, subject(subjectId)),
    deleteFace: (faceId) =>
      withSpan(tracer, SPAN.storeDelete, async (span) => {
        await store.deleteFace(faceId);
        span.setAttribute(ATTR.facesCount, 1);
      }),
    updateSubject: (subjectId, payload) => store.updateSubject(subjectId, payload),
    listSubjects: (options) => store.listSubjects(options),
    getSubject: (subjectId) => store.getSubject(subjectId),
    getFace: (faceId) => store.getFace(faceId),
    count: (subjectId) => store.count(subjectId),
    stats: () => store.stats(),
    close: () => store.close(),
  };
}
