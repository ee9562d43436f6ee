/** Pipeline and store results → generated proto messages. */
import type { Face, Match, RecognizeResponse } from '../gen/facerec/v1/facerec.js';
import type { DetectedFace, PipelineResult } from '../pipeline/types.js';
import type { SearchMatch } from '../store/vector-store.js';

export function toProtoMatch(match: SearchMatch): Match {
  return {
    subjectId: match.subjectId,
    faceId: match.faceId,
    similarity: match.similarity,
    // The person's fields (name…) with the enrolment's own fields on top.
    payload: { ...match.subjectPayload, ...match.payload },
  };
}

export function toProtoFace(face: DetectedFace, matches: readonly SearchMatch[] = [], includeEmbedding = false): Face {
  return {
    box: { ...face.box },
    score: face.score,
    landmarks: face.landmarks.map(({ x, y }) => ({ x, y })),
    matches: matches.map(toProtoMatch),
    embedding: includeEmbedding && face.embedding ? Array.from(face.embedding) : [],
    embedded: face.embedding !== undefined,
    trackId: 0,
  };
}

/** The seed's REST fields: per face, its matches' payloads and its integer box. */
export function toRecognizeResponse(result: PipelineResult, faces: Face[], threshold: number): RecognizeResponse {
  return {
    faces,
    payloads: faces.map((face) => face.matches.map((match) => match.payload ?? {})),
    boxes: faces.map(({ box }) => (box ? [Math.round(box.x1), Math.round(box.y1), Math.round(box.x2), Math.round(box.y2)] : [])),
    imageWidth: result.width,
    imageHeight: result.height,
    threshold,
  };
}
