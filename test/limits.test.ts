/**
 * The limits of README "Limits", end to end: the real server (real models,
 * real embedded store) on a loopback port, driven by the generated client.
 * Each limit is tried at its value (accepted) and just past it (refused with
 * INVALID_ARGUMENT and a message naming the limit).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import sharp from 'sharp';
import { FacePolicy, RecognizeResponse, type Face, type IngestRequest } from '../src/gen/facerec/v1/facerec.js';
import { CONFIG_SCHEMA } from '../src/config/schema.js';
import { MAX_MATCHES_PER_REPLY } from '../src/server/reply-limits.js';
import { MAX_FILTER_KEYS, MAX_FILTER_VALUE_LENGTH, MAX_PAYLOAD_BYTES, MAX_PAYLOAD_DEPTH } from '../src/store/validate.js';
import { call, startTestServer, type TestServer } from './support/facerec-server.js';
import { cropFace, iou, photo, pngDeclaring, type PixelBox } from './support/images.js';

const MAX_TOP_K = CONFIG_SCHEMA.server.maxTopK.default;

function assertStatus(code: status, pattern: RegExp) {
  return (error: unknown) => {
    const e = error as ServiceError;
    assert.equal(e.code, code, `expected ${status[code]}, got ${status[e.code]}: ${e.details}`);
    assert.match(e.details, pattern);
    return true;
  };
}

/** The payload protobuf spends the most bytes on: a list of one-digit numbers filling MAX_PAYLOAD_BYTES of JSON. */
function largestPayload(): Record<string, number[]> {
  const overhead = JSON.stringify({ n: [] }).length;
  return { n: new Array<number>(Math.floor((MAX_PAYLOAD_BYTES - overhead + 1) / 2)).fill(7) };
}

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let level = 1; level < depth; level++) value = { inner: value };
  return value;
}

function filterWith(keys: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, 'v']));
}

const enrol = (server: TestServer, subjectId: string, image: Buffer, payload: Record<string, unknown> | undefined): Promise<unknown> =>
  call(server.client.enrollFace, server.client, { subjectId, image, payload, facePolicy: FacePolicy.FACE_POLICY_UNSPECIFIED } as IngestRequest);

const recognize = (server: TestServer, image: Buffer, topK: number, filter?: Record<string, unknown>) =>
  call(server.client.recognize, server.client, { image, topK, minSimilarity: -1, includeEmbedding: false, filter, matchFaces: false });

describe('limits', () => {
  let server: TestServer;
  const group = photo(1);
  let crops: Buffer[] = [];

  before(async () => {
    server = await startTestServer();
    const detected = await call(server.client.detect, server.client, { image: group, includeEmbedding: false });
    crops = await Promise.all(detected.faces.map((face) => cropFace(group, face.box!)));
  });
  after(() => server.stop());

  it('refuses a payload past MAX_PAYLOAD_BYTES or MAX_PAYLOAD_DEPTH in EnrollFace and UpdateSubject, and keeps one at the limit', async () => {
    const overhead = JSON.stringify({ note: '' }).length;
    const atLimit = { note: 'x'.repeat(MAX_PAYLOAD_BYTES - overhead) };
    const tooBig = { note: 'x'.repeat(MAX_PAYLOAD_BYTES - overhead + 1) };
    await assert.rejects(enrol(server, 'payload-big', crops[0]!, tooBig), assertStatus(status.INVALID_ARGUMENT, new RegExp(`${MAX_PAYLOAD_BYTES + 1} bytes as JSON, the limit is ${MAX_PAYLOAD_BYTES}`)));
    await assert.rejects(enrol(server, 'payload-deep', crops[0]!, nested(MAX_PAYLOAD_DEPTH + 1)), assertStatus(status.INVALID_ARGUMENT, new RegExp(`more than ${MAX_PAYLOAD_DEPTH} levels deep`)));
    await assert.rejects(call(server.client.getSubject, server.client, { subjectId: 'payload-big' }), assertStatus(status.NOT_FOUND, /payload-big/));

    await enrol(server, 'payload-max', crops[0]!, atLimit);
    await assert.rejects(
      call(server.client.updateSubject, server.client, { subjectId: 'payload-max', payload: tooBig }),
      assertStatus(status.INVALID_ARGUMENT, /bytes as JSON, the limit is/),
    );
    await assert.rejects(
      call(server.client.updateSubject, server.client, { subjectId: 'payload-max', payload: nested(MAX_PAYLOAD_DEPTH + 1) }),
      assertStatus(status.INVALID_ARGUMENT, /levels deep/),
    );
    const subject = await call(server.client.getSubject, server.client, { subjectId: 'payload-max' });
    assert.deepEqual(subject.payload, atLimit);
    const updated = await call(server.client.updateSubject, server.client, { subjectId: 'payload-max', payload: nested(MAX_PAYLOAD_DEPTH) });
    assert.deepEqual(updated.payload, nested(MAX_PAYLOAD_DEPTH));
  });

  it(`answers top_k ${MAX_TOP_K} when every match carries the largest payload, and shares the matches out over several faces`, async (t) => {
    // MAX_TOP_K subjects, all enrolled from the same face, each with the payload protobuf encodes largest.
    const payload = largestPayload();
    const ids = Array.from({ length: MAX_TOP_K }, (_, i) => `worst-${String(i).padStart(3, '0')}-${'人'.repeat(200)}`);
    for (let i = 0; i < ids.length; i += 4) await Promise.all(ids.slice(i, i + 4).map((id) => enrol(server, id, crops[1]!, payload)));

    const one = await recognize(server, crops[1]!, MAX_TOP_K);
    const embedded = one.faces.filter((face) => face.embedded);
    assert.equal(embedded.length, 1);
    const ours = embedded[0]!.matches.filter((m) => m.subjectId.startsWith('worst-'));
    assert.equal(ours.length, MAX_TOP_K);
    for (const match of ours) assert.deepEqual(match.payload, payload);
    assert.deepEqual(one.payloads[one.faces.indexOf(embedded[0]!)]!.filter((p) => 'n' in (p as object)).length, MAX_TOP_K);
    t.diagnostic(`reply with ${MAX_TOP_K} largest payloads: ${RecognizeResponse.encode(one).finish().length} bytes`);

    // Several faces: top_k × faces would pass MAX_MATCHES_PER_REPLY, so each face gets an equal share.
    const crowd = await recognize(server, photo(4), MAX_TOP_K);
    const searched = crowd.faces.filter((face: Face) => face.embedded);
    assert.ok(searched.length >= 2, `${searched.length} embedded faces`);
    const share = Math.floor(MAX_MATCHES_PER_REPLY / searched.length);
    for (const face of searched) assert.equal(face.matches.length, share);
  });

  it(`refuses ${MAX_FILTER_KEYS + 1} or 10,000 filter fields and over-long filter values with INVALID_ARGUMENT, not INTERNAL`, async () => {
    await assert.rejects(recognize(server, group, 1, filterWith(10_000)), assertStatus(status.INVALID_ARGUMENT, new RegExp(`filter has 10000 fields, the limit is ${MAX_FILTER_KEYS}`)));
    await assert.rejects(recognize(server, group, 1, filterWith(MAX_FILTER_KEYS + 1)), assertStatus(status.INVALID_ARGUMENT, /fields, the limit is/));
    const long = { name: 'a'.repeat(MAX_FILTER_VALUE_LENGTH + 1) };
    await assert.rejects(recognize(server, group, 1, long), assertStatus(status.INVALID_ARGUMENT, new RegExp(`the limit is ${MAX_FILTER_VALUE_LENGTH}`)));

    const fine = await recognize(server, group, 1, { ...filterWith(MAX_FILTER_KEYS - 1), name: 'a'.repeat(MAX_FILTER_VALUE_LENGTH) });
    assert.ok(fine.faces.length > 0);
    assert.ok(fine.faces.every((face) => face.matches.length === 0), 'no subject has these fields');
  });

  it(`refuses top_k above ${MAX_TOP_K}`, async () => {
    await assert.rejects(recognize(server, group, MAX_TOP_K + 1), assertStatus(status.INVALID_ARGUMENT, new RegExp(`top_k ${MAX_TOP_K + 1} is above the maximum ${MAX_TOP_K}`)));
  });

  it('refuses an image declaring more than FACEREC_PIPELINE__MAX_IMAGE_PIXELS before decoding it', async () => {
    const limit = server.config.pipeline.maxImagePixels;
    const side = Math.floor(Math.sqrt(limit));
    const over = pngDeclaring(side, Math.floor(limit / side) + 1);
    await assert.rejects(call(server.client.detect, server.client, { image: over, includeEmbedding: false }), assertStatus(status.INVALID_ARGUMENT, new RegExp(`too many pixels.*limit ${limit}`)));
  });

  it('shrinks an image above FACEREC_PIPELINE__MAX_DECODED_PIXELS while decoding, and answers in the pixels it was sent in', async () => {
    const maxDecoded = server.config.pipeline.maxDecodedPixels;
    const original = await call(server.client.detect, server.client, { image: group, includeEmbedding: false });
    // Twice the decode budget, so the server works on a copy of about 0.7 of each side.
    const width = Math.round(Math.sqrt((2 * maxDecoded * original.imageWidth) / original.imageHeight));
    const height = Math.round((width * original.imageHeight) / original.imageWidth);
    const large = await sharp(group).resize(width, height, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
    const detected = await call(server.client.detect, server.client, { image: large, includeEmbedding: false });
    assert.deepEqual([detected.imageWidth, detected.imageHeight], [width, height]);
    assert.equal(detected.faces.length, original.faces.length);
    const scale = width / original.imageWidth;
    for (const face of original.faces) {
      const expected = { x1: face.box!.x1 * scale, y1: face.box!.y1 * scale, x2: face.box!.x2 * scale, y2: face.box!.y2 * scale };
      assert.ok(detected.faces.some((d) => iou(d.box as PixelBox, expected) > 0.8), 'each face is found at the same place, in the large image\'s pixels');
    }
  });
});

describe('FACEREC_PIPELINE__MAX_FACES_PER_IMAGE', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ pipeline: { maxFacesPerImage: 1 } });
  });
  after(() => server.stop());

  it('embeds only the largest face; the others keep box and score but get no landmarks, embedding or matches', async () => {
    const { faces } = await call(server.client.recognize, server.client, { image: photo(1), topK: 1, includeEmbedding: true, filter: undefined, matchFaces: false });
    assert.equal(faces.length, 3, 'every detected face is reported');
    const area = (face: Face) => (face.box!.x2 - face.box!.x1) * (face.box!.y2 - face.box!.y1);
    const largest = faces.reduce((a, b) => (area(b) > area(a) ? b : a));
    for (const face of faces) {
      const chosen = face === largest;
      assert.equal(face.embedded, chosen);
      assert.equal(face.landmarks.length, chosen ? 5 : 0);
      assert.equal(face.embedding.length, chosen ? 512 : 0);
      assert.ok(face.score > 0 && face.box!.x2 > face.box!.x1);
    }
  });
});
