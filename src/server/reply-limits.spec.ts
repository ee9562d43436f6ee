import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { CONFIG_SCHEMA } from '../config/schema.js';
import { isFacerecError } from '../errors.js';
import { ListSubjectsResponse, RecognizeResponse } from '../gen/facerec/v1/facerec.js';
import type { DetectedFace } from '../pipeline/types.js';
import { checkId, checkPayload, MAX_ID_LENGTH, MAX_PAGE_SIZE, MAX_PAYLOAD_BYTES } from '../store/validate.js';
import type { SearchMatch } from '../store/vector-store.js';
import { toProtoFace, toRecognizeResponse } from './convert.js';
import { MAX_MATCHES_PER_REPLY, planMatches, topKOf } from './reply-limits.js';

/** The gRPC send limit as shipped (grpc-server.ts sends at most maxMessageBytes). */
const SEND_LIMIT = CONFIG_SCHEMA.server.maxMessageBytes.default;
const MAX_TOP_K = CONFIG_SCHEMA.server.maxTopK.default;
/** The detector's anchors (320×240 input: 40×30·3 + 20×15·2 + 10×8·2 + 5×4·3): no image gives more faces. */
const DETECTOR_ANCHORS = 4420;

/**
 * The payload that costs protobuf the most per byte of JSON: a list of
 * one-digit numbers, 2 bytes of JSON and 11 of Struct each.
 */
function worstPayload(key: string): Record<string, number[]> {
  const overhead = JSON.stringify({ [key]: [] }).length;
  return { [key]: new Array<number>(Math.floor((MAX_PAYLOAD_BYTES - overhead + 1) / 2)).fill(7) };
}

/** An id at the length limit, every character 3 bytes of UTF-8 (the most a UTF-16 unit can take). */
const worstId = (c: string) => c.repeat(MAX_ID_LENGTH);

function face(i: number, embedded: boolean): DetectedFace {
  const box = { x1: 1000.5 + i, y1: 2000.5, x2: 3000.5 + 2 * i, y2: 4000.5 }; // grows with i
  if (!embedded) return { box, score: 0.5, landmarks: [] };
  const landmarks = Array.from({ length: 5 }, (_, j) => ({ x: 1234.5 + j, y: 2345.5 }));
  return { box, score: 0.99, landmarks, embedding: new Float32Array(512).fill(0.044) };
}

/** The largest Recognize reply with `embedded` embedded faces, top_k at its maximum and include_embedding set. */
function worstRecognizeBytes(embedded: number): { bytes: number; matches: number } {
  const subjectPayload = worstPayload('s');
  const facePayload = worstPayload('f');
  const faces = Array.from({ length: DETECTOR_ANCHORS }, (_, i) => face(i, i < embedded));
  const plan = planMatches(faces, MAX_TOP_K);
  let matches = 0;
  const protoFaces = faces.map((f, i) => {
    const found: SearchMatch[] = [];
    if (plan.searched.has(f)) {
      for (let m = 0; m < plan.matchesPerFace; m++) {
        found.push({ faceId: worstId('面'), subjectId: worstId('人'), similarity: 0.123456, payload: facePayload, subjectPayload });
      }
    }
    matches += found.length;
    return toProtoFace(f, found, i < embedded);
  });
  const reply = toRecognizeResponse({ width: 100_000, height: 100_000, faces }, protoFaces, 0.46);
  return { bytes: RecognizeResponse.encode(reply).finish().length, matches };
}

describe('topKOf', () => {
  it('reads 0 as 1 and refuses more than the configured maximum', () => {
    assert.equal(topKOf(0, MAX_TOP_K), 1);
    assert.equal(topKOf(MAX_TOP_K, MAX_TOP_K), MAX_TOP_K);
    assert.throws(() => topKOf(MAX_TOP_K + 1, MAX_TOP_K), (e) => isFacerecError(e, 'INVALID_ARGUMENT') && /top_k 101 is above the maximum 100/.test(e.message));
    assert.throws(() => topKOf(11, 10), (e) => isFacerecError(e, 'INVALID_ARGUMENT') && /top_k 11 is above the maximum 10/.test(e.message));
  });

  it('lets no configured maximum ask for more matches than one reply carries', () => {
    assert.ok(CONFIG_SCHEMA.server.maxTopK.max <= MAX_MATCHES_PER_REPLY);
  });
});

describe('planMatches', () => {
  const faces = (n: number, embeddedEvery = 1) => Array.from({ length: n }, (_, i) => face(i, i % embeddedEvery === 0));

  it('gives each face top_k matches while top_k × faces fits', () => {
    const plan = planMatches(faces(4), 25);
    assert.equal(plan.matchesPerFace, 25);
    assert.equal(plan.searched.size, 4);
  });

  it('shares MAX_MATCHES_PER_REPLY out equally when top_k × faces would pass it, at least one each', () => {
    assert.equal(planMatches(faces(3), 100).matchesPerFace, 33);
    assert.equal(planMatches(faces(30), 5).matchesPerFace, 3);
    assert.equal(planMatches(faces(100), 100).matchesPerFace, 1);
  });

  it('searches only embedded faces, and only the largest when there are more than the bound', () => {
    const mixed = faces(10, 2);
    assert.deepEqual([...planMatches(mixed, 1).searched], mixed.filter((f) => f.embedding));
    const crowd = faces(MAX_MATCHES_PER_REPLY + 20);
    const plan = planMatches(crowd, 1);
    assert.equal(plan.searched.size, MAX_MATCHES_PER_REPLY);
    // face(i) grows with i: the 20 smallest are left out.
    assert.ok(crowd.slice(20).every((f) => plan.searched.has(f)));
  });

  it('never plans more than MAX_MATCHES_PER_REPLY matches', () => {
    for (let n = 1; n <= 2 * MAX_MATCHES_PER_REPLY; n++) {
      const list = faces(n);
      for (let k = 1; k <= MAX_TOP_K; k++) {
        const plan = planMatches(list, k);
        assert.ok(plan.searched.size * plan.matchesPerFace <= MAX_MATCHES_PER_REPLY, `${n} faces, top_k ${k}`);
      }
    }
  });
});

describe('worst-case replies, encoded with the real protobuf encoder', () => {
  it('the payloads and ids used are the largest the store accepts', () => {
    assert.ok(checkPayload(worstPayload('s'), 'payload'));
    assert.ok(JSON.stringify(worstPayload('s')).length > MAX_PAYLOAD_BYTES - 2);
    assert.equal(Buffer.byteLength(checkId('subjectId', worstId('人'))), 3 * MAX_ID_LENGTH);
  });

  it('a Recognize reply stays under half the send limit, whatever the faces and top_k', (t) => {
    let worst = { bytes: 0, matches: 0, embedded: 0 };
    for (const embedded of [1, 2, 3, 7, 34, 51, 100]) {
      const { bytes, matches } = worstRecognizeBytes(embedded);
      assert.ok(matches <= MAX_MATCHES_PER_REPLY);
      if (bytes > worst.bytes) worst = { bytes, matches, embedded };
    }
    t.diagnostic(`worst Recognize reply: ${worst.bytes} bytes (${worst.embedded} embedded faces, ${worst.matches} matches), send limit ${SEND_LIMIT}`);
    assert.ok(worst.bytes < SEND_LIMIT / 2, `${worst.bytes} bytes`);
  });

  it('a full ListSubjects page of the largest payloads stays under the send limit', (t) => {
    const payload = worstPayload('s');
    const subjects = Array.from({ length: MAX_PAGE_SIZE }, () => ({ subjectId: worstId('人'), payload, faceCount: 4_000_000_000, faceIds: [] }));
    const bytes = ListSubjectsResponse.encode({ subjects, nextPageToken: worstId('頁'), totalSize: 4_000_000_000 }).finish().length;
    t.diagnostic(`full ListSubjects page: ${bytes} bytes, send limit ${SEND_LIMIT}`);
    assert.ok(bytes < SEND_LIMIT, `${bytes} bytes`);
  });
});
