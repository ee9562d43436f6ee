import { candidateFaceCount } from '../subject-ranking.js';
import { dot } from '../../embedding.js';
import type { Payload, SearchMatch } from '../vector-store.js';
import type { RecordReader } from './record-reads.js';
import type { IndexHits, VectorIndex } from './vector-index.js';

/** Exact top-k over the faces that pass the filter (read from SQLite, not the index). */
function searchFiltered(reader: RecordReader, query: Float32Array, k: number, filter: Payload): IndexHits {
  const scored = reader.filteredEmbeddings(filter).map((c) => ({ key: c.key, similarity: dot(query, c.embedding) }));
  scored.sort((a, b) => b.similarity - a.similarity);
  const top = scored.slice(0, k);
  return { keys: top.map((s) => s.key), similarities: top.map((s) => s.similarity) };
}

/** The k nearest faces as index hits: unfiltered from the index, filtered by an exact scan. */
function nearestHits(reader: RecordReader, index: VectorIndex, query: Float32Array, k: number, filter: Payload | undefined): IndexHits {
  return filter ? searchFiltered(reader, query, k, filter) : index.search(query, k);
}

/**
 * k nearest faces, best first. Unfiltered queries go to the in-memory index
 * (flat or HNSW); filtered ones scan the matching rows exactly, so a selective
 * filter never starves the result the way post-filtering an ANN list can.
 */
export function searchCollection(
  reader: RecordReader,
  index: VectorIndex,
  query: Float32Array,
  k: number,
  minSimilarity: number,
  filter: Payload | undefined,
): SearchMatch[] {
  const hits = nearestHits(reader, index, query, k, filter);
  const out: SearchMatch[] = [];
  for (let i = 0; i < hits.keys.length; i++) {
    const similarity = hits.similarities[i]!;
    if (similarity < minSimilarity) break;
    const match = reader.match(hits.keys[i]!);
    if (match) out.push({ ...match, similarity });
  }
  return out;
}

/**
 * The k subjects with the nearest templates, each with its closest face (see
 * SearchOptions.rankBy). Only the subject of each candidate face is read
 * until the winners are known; payloads are read for those alone.
 */
export function searchSubjects(
  reader: RecordReader,
  index: VectorIndex,
  query: Float32Array,
  k: number,
  minSimilarity: number,
  filter: Payload | undefined,
): SearchMatch[] {
  const hits = nearestHits(reader, index, query, candidateFaceCount(k), filter);
  const closestKey = new Map<string, number>();
  for (const key of hits.keys) {
    const subjectId = reader.subjectOfFace(key);
    if (subjectId !== undefined && !closestKey.has(subjectId)) closestKey.set(subjectId, key);
  }
  const ranked: Array<{ key: number; similarity: number }> = [];
  for (const [subjectId, key] of closestKey) {
    const template = reader.template(subjectId);
    if (!template) continue;
    const similarity = dot(query, template);
    if (similarity >= minSimilarity) ranked.push({ key, similarity });
  }
  ranked.sort((a, b) => b.similarity - a.similarity);
  const out: SearchMatch[] = [];
  for (const { key, similarity } of ranked.slice(0, k)) {
    const match = reader.match(key);
    if (match) out.push({ ...match, similarity });
  }
  return out;
}
