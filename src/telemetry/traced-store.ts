/** A VectorStore whose searches and writes each run in a span (store.search, store.upsert, store.delete). */
import type { VectorStore } from '../store/vector-store.js';
import { ATTR, SPAN } from './names.js';
import { withSpan, type Tracer } from './spans.js';

export function traceStore(store: VectorStore, tracer: Tracer): VectorStore {
  return {
    search: (query, options) =>
      withSpan(tracer, SPAN.storeSearch, async (span) => {
        const matches = await store.search(query, options);
        span.setAttribute(ATTR.storeMatches, matches.length);
        return matches;
      }, { [ATTR.storeTopK]: options.k }),
    upsertFaces: (faces) => withSpan(tracer, SPAN.storeUpsert, () => store.upsertFaces(faces), { [ATTR.facesCount]: faces.length }),
    deleteSubject: (subjectId) => withSpan(tracer, SPAN.storeDelete, () => store.deleteSubject(subjectId)),
    deleteFace: (faceId) => withSpan(tracer, SPAN.storeDelete, () => store.deleteFace(faceId)),
    updateSubject: (subjectId, payload) => store.updateSubject(subjectId, payload),
    listSubjects: (options) => store.listSubjects(options),
    getSubject: (subjectId) => store.getSubject(subjectId),
    getFace: (faceId) => store.getFace(faceId),
    count: (subjectId) => store.count(subjectId),
    stats: () => store.stats(),
    close: () => store.close(),
  };
}
