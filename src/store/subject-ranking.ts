/**
 * Ranking subjects by template. Both backends read candidateFaceCount(k)
 * faces; Qdrant ranks them here, the embedded store in
 * embedded/collection-search.ts (it reads only the winners' payloads). The nearest faces
 * are read first (from whatever index the backend has), their subjects
 * collected, and those subjects ranked by the similarity of their templates.
 * A subject whose template is near the query has faces near it too, so
 * reading a few faces per wanted subject finds it without a second index to
 * keep in step; its first face in the list is its closest one.
 */
import { dot } from '../embedding.js';
import { SUBJECT_CANDIDATES_MIN, SUBJECT_CANDIDATES_PER_RESULT, type SearchMatch } from './vector-store.js';

/** Nearest faces to read for k subjects. */
export function candidateFaceCount(k: number): number {
  return Math.max(SUBJECT_CANDIDATES_MIN, k * SUBJECT_CANDIDATES_PER_RESULT);
}

/** The subjects of `faces` (best first), each once, with its closest face. */
export function closestFacePerSubject(faces: readonly SearchMatch[]): Map<string, SearchMatch> {
  const closest = new Map<string, SearchMatch>();
  for (const face of faces) if (!closest.has(face.subjectId)) closest.set(face.subjectId, face);
  return closest;
}

/** The k subjects whose templates are nearest the query, at or above minSimilarity, each reported with its closest face. */
export function rankByTemplate(
  query: Float32Array,
  closest: ReadonlyMap<string, SearchMatch>,
  templates: ReadonlyMap<string, Float32Array | undefined>,
  k: number,
  minSimilarity: number,
): SearchMatch[] {
  const ranked: SearchMatch[] = [];
  for (const [subjectId, face] of closest) {
    const template = templates.get(subjectId);
    // No template (a write racing this read on a backend without transactions): the face stands in.
    const similarity = template ? dot(query, template) : face.similarity;
    if (similarity >= minSimilarity) ranked.push({ ...face, similarity });
  }
  ranked.sort((a, b) => b.similarity - a.similarity);
  return ranked.slice(0, k);
}
