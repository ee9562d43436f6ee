/**
 * The REST API end to end: the real server (real models, real embedded store)
 * with its built-in REST gateway on a loopback port, driven by fetch. Routes,
 * JSON shapes and error statuses are the ones docs/rest.md promises; the
 * gateway alone (against a stub gRPC server) is covered by rest-gateway.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import sharp from 'sharp';
import { FacePolicy, type Face } from '../src/gen/facerec/v1/facerec.js';
import { mintToken } from '../src/server/auth.js';
import { bulkIngest, call, emptyGallery, startTestServer, type TestServer } from './support/facerec-server.js';
import { cropFace, iou, photo, randomBytes, type PixelBox } from './support/images.js';

/** Proto3 JSON of the messages, with proto field names, as the gateway prints them. */
interface JsonBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}
interface JsonMatch {
  subject_id: string;
  face_id: string;
  similarity: number;
  payload: Record<string, unknown>;
}
interface JsonFace {
  box: JsonBox;
  score: number;
  landmarks: Array<{ x: number; y: number }>;
  matches: JsonMatch[];
  /** Present only when asked for (include_embedding). */
  embedding?: number[];
  embedded: boolean;
}
interface JsonRecognizeResponse {
  faces: JsonFace[];
  payloads: Array<Array<Record<string, unknown>>>;
  boxes: number[][];
  image_width: number;
  image_height: number;
  threshold: number;
}
interface JsonSubject {
  subject_id: string;
  payload: Record<string, unknown>;
  face_count: number;
  face_ids: string[];
}
interface JsonStatus {
  code: number;
  message: string;
  details: unknown[];
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** Significant digits of a number as JSON prints it (0.46 → 2). */
function significantDigits(value: number): number {
  return value.toExponential().split('e')[0]!.replace(/[-.]/g, '').length;
}

/** Asserts an HTTP status and returns the JSON body; the message says what came back instead. */
async function expectJson<T>(response: Response, httpStatus: number): Promise<T> {
  const text = await response.text();
  assert.equal(response.status, httpStatus, `HTTP ${response.status}: ${text}`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  return JSON.parse(text) as T;
}

/** Asserts an error response: HTTP status and a google.rpc.Status body with the gRPC code. */
async function expectStatus(response: Response, httpStatus: number, grpcCode: number, pattern?: RegExp): Promise<JsonStatus> {
  const body = await expectJson<JsonStatus>(response, httpStatus);
  assert.deepEqual(Object.keys(body).sort(), ['code', 'details', 'message']);
  assert.equal(body.code, grpcCode, `code ${body.code}: ${body.message}`);
  assert.deepEqual(body.details, []);
  if (pattern) assert.match(body.message, pattern);
  return body;
}

/** Index in `reference` of the face whose box overlaps `box` (IoU > 0.5). */
function indexOf(reference: readonly Face[], box: JsonBox): number {
  return reference.findIndex((face) => iou(face.box as PixelBox, box) > 0.5);
}

describe('REST API (built-in gateway, real server)', () => {
  let server: TestServer;
  let base: string;
  const group = photo(1); // three faces
  const strangers = photo(2); // three other people
  let groupFaces: Face[] = [];
  let crops: Buffer[] = [];
  let defaultThreshold = 0;

  const post = (path: string, body: unknown, headers: Record<string, string> = JSON_HEADERS) =>
    fetch(`${base}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const recognizeBase64 = async (image: Buffer, extra: Record<string, unknown> = {}) =>
    expectJson<JsonRecognizeResponse>(await post('/base64', { image: image.toString('base64'), ...extra }), 200);

  before(async () => {
    // A 4 MiB body limit keeps the 413 case small; the photos are far below it.
    server = await startTestServer({ server: { maxMessageBytes: 4 * 1024 * 1024 } }, undefined, { rest: true });
    base = server.restUrl!;
    const detected = await call(server.client.detect, server.client, { image: group, includeEmbedding: false });
    groupFaces = detected.faces;
    assert.equal(groupFaces.length, 3);
    crops = await Promise.all(groupFaces.map((face) => cropFace(group, face.box!)));
    defaultThreshold = (await call(server.client.getInfo, server.client, {})).defaultThreshold;
  });
  after(() => server.stop());
  // One server for the file (the models load once), an empty gallery for each
  // test: each test enrols what it needs, so any one runs alone or in any order.
  beforeEach(() => emptyGallery(server));

  /** Enrols person-0 ("Zero") and person-1 ("One", team red) of the group photo; person-2 stays a stranger. */
  async function enrolPair(): Promise<void> {
    const summary = await bulkIngest(server, [
      { subjectId: 'person-0', image: crops[0]!, payload: { name: 'Zero' }, facePolicy: FacePolicy.FACE_POLICY_UNSPECIFIED },
      { subjectId: 'person-1', image: crops[1]!, payload: { name: 'One', team: 'red' }, facePolicy: FacePolicy.FACE_POLICY_UNSPECIFIED },
    ]);
    assert.equal(summary.enrolled, 2, JSON.stringify(summary.errors));
  }

  it('GET / answers Info: service, models, store and an empty gallery (64-bit counts as strings)', async () => {
    const response = await fetch(`${base}/`);
    assert.ok(response.headers.get('x-request-id'), 'a generated x-request-id is echoed');
    const info = await expectJson<Record<string, unknown>>(response, 200);
    assert.equal(info['service'], 'facerec.v1.FaceRecognition');
    assert.match(String(info['version']), /^\d+\.\d+\.\d+/);
    assert.equal(info['store_backend'], 'embedded');
    assert.equal(info['subjects'], '0');
    assert.equal(info['faces'], '0');
    assert.equal(info['embedding_dim'], 512);
    assert.equal(info['auth_required'], false);
    const models = info['models'] as Array<Record<string, string>>;
    assert.deepEqual(models.map((m) => m.name).sort(), ['detector', 'embedder', 'landmarks']);
    for (const model of models) {
      assert.match(model['sha256']!, /^[0-9a-f]{64}$/);
      assert.match(model['file']!, /\.onnx$/);
      assert.ok('source_sha256' in model);
    }
    // The float32 the server sends (0.46000000834465027 as a double) prints as the configured 0.46.
    assert.equal(info['default_threshold'], server.config.pipeline.similarityThreshold);
    assert.equal(Math.fround(info['default_threshold'] as number), defaultThreshold);
  });

  it('POST /v1/detect finds the three faces with pixel boxes and five landmarks, no matches', async () => {
    const detected = await expectJson<{ faces: JsonFace[]; image_width: number; image_height: number }>(
      await post('/v1/detect', { image: group.toString('base64') }),
      200,
    );
    const meta = await sharp(group).metadata();
    assert.equal(detected.image_width, meta.width);
    assert.equal(detected.image_height, meta.height);
    assert.equal(detected.faces.length, 3);
    for (const face of detected.faces) {
      assert.ok(indexOf(groupFaces, face.box) >= 0, 'same faces as over gRPC');
      assert.ok(face.box.x2 > face.box.x1 && face.box.y2 > face.box.y1);
      assert.equal(face.landmarks.length, 5);
      assert.ok(face.score > 0.5 && face.score <= 1);
      assert.deepEqual(face.matches, []);
      assert.ok(!('embedding' in face), 'no "embedding" key when none was asked for');
      assert.equal(face.embedded, false, 'Detect embeds only when asked');
      // Floats print as the float32 they are, without binary noise: 9 significant digits at most
      // (0.46000000834465027 has 17), and still exactly the float the server sent.
      for (const value of [face.score, face.box.x1, face.box.y2, face.landmarks[0]!.x]) assert.ok(significantDigits(value) <= 9, `${value} printed short`);
      assert.ok(groupFaces.some((g) => g.score === Math.fround(face.score)), 'the same float32 score as over gRPC');
    }
    const withEmbedding = await expectJson<{ faces: JsonFace[] }>(await post('/v1/detect', { image: crops[0]!.toString('base64'), include_embedding: true }), 200);
    assert.equal(withEmbedding.faces[0]!.embedding?.length, 512);
    assert.equal(withEmbedding.faces[0]!.embedded, true);
  });

  it('POST /base64 on an empty gallery: faces with boxes, and per face an empty payloads list and an integer box', async () => {
    const response = await recognizeBase64(group);
    assert.equal(response.faces.length, 3);
    assert.equal(response.payloads.length, 3);
    assert.equal(response.boxes.length, 3);
    assert.equal(response.threshold, server.config.pipeline.similarityThreshold, 'the threshold prints as configured, without float32 noise');
    response.faces.forEach((face, i) => {
      assert.deepEqual(face.matches, []);
      assert.deepEqual(response.payloads[i], []);
      const box = response.boxes[i]!;
      assert.equal(box.length, 4);
      assert.ok(box.every((v) => Number.isInteger(v)), `integer box ${JSON.stringify(box)}`);
      // Same face order: the integer box is the float box, rounded.
      [face.box.x1, face.box.y1, face.box.x2, face.box.y2].forEach((v, k) => assert.ok(Math.abs(v - box[k]!) <= 1, `${box} vs ${JSON.stringify(face.box)}`));
    });
  });

  it('POST /base64 as the seed\'s form (image_base64, urlencoded or multipart) answers as the JSON body does', async () => {
    const viaJson = await recognizeBase64(group, { top_k: 2 });
    const urlencoded = await fetch(`${base}/base64`, { method: 'POST', body: new URLSearchParams({ image_base64: group.toString('base64'), top_k: '2' }) });
    const fields = new FormData();
    fields.set('image_base64', group.toString('base64'));
    fields.set('top_k', '2');
    const multipart = await fetch(`${base}/base64`, { method: 'POST', body: fields });
    for (const response of [urlencoded, multipart]) {
      const body = await expectJson<JsonRecognizeResponse>(response, 200);
      assert.deepEqual(body.boxes, viaJson.boxes);
      assert.deepEqual(body.faces.map((f) => f.box), viaJson.faces.map((f) => f.box));
    }
    // A form without the field is the gateway's 400, before any inference.
    await expectStatus(await fetch(`${base}/base64`, { method: 'POST', body: new URLSearchParams({ top_k: '1' }) }), 400, 3, /image_base64/);
  });

  it('enrols through POST /v1/subjects/{subject_id}/faces; the same photo again is a duplicate', async () => {
    const enrol = (subject: string, image: Buffer, payload: Record<string, unknown>) =>
      post(`/v1/subjects/${subject}/faces`, { image: image.toString('base64'), payload });
    const zero = await expectJson<{ subject_id: string; face_id: string; duplicate: boolean; face: JsonFace }>(await enrol('person-0', crops[0]!, { name: 'Zero' }), 200);
    assert.equal(zero.subject_id, 'person-0');
    assert.ok(zero.face_id.length > 0);
    assert.equal(zero.duplicate, false);
    assert.equal(zero.face.embedded, true);
    const again = await expectJson<{ face_id: string; duplicate: boolean }>(await enrol('person-0', crops[0]!, { name: 'Zero' }), 200);
    assert.equal(again.duplicate, true);
    assert.equal(again.face_id, zero.face_id);
    const one = await expectJson<{ subject_id: string; duplicate: boolean }>(await enrol('person-1', crops[1]!, { name: 'One', team: 'red' }), 200);
    assert.equal(one.subject_id, 'person-1');
    assert.equal(one.duplicate, false);
    // The whole group photo holds three faces: the default policy rejects it.
    await expectStatus(await enrol('crowd', group, {}), 400, 3);

    const info = await expectJson<{ subjects: string; faces: string }>(await fetch(`${base}/`), 200);
    assert.equal(info.subjects, '2');
    assert.equal(info.faces, '2');
  });

  it('POST /base64 after enrolment: matches, and payloads carry each match\'s payload in face order', async () => {
    await enrolPair();
    const response = await recognizeBase64(group, { top_k: 2 });
    assert.equal(response.faces.length, 3);
    const expected = [[{ name: 'Zero' }], [{ name: 'One', team: 'red' }], []];
    response.faces.forEach((face, i) => {
      const person = indexOf(groupFaces, face.box);
      assert.ok(person >= 0);
      const best = face.matches[0];
      if (person < 2) {
        assert.equal(best?.subject_id, `person-${person}`);
        assert.ok(best!.similarity >= response.threshold);
        assert.ok(best!.face_id.length > 0);
      } else assert.equal(best, undefined, 'person-2 is not enrolled');
      // payloads[i] lists the payloads of faces[i]'s matches (top_k 2, but one face per subject is enrolled).
      assert.deepEqual(response.payloads[i], face.matches.map((m) => m.payload));
      assert.deepEqual(response.payloads[i]![0] ?? null, expected[person]![0] ?? null);
    });

    const filtered = await recognizeBase64(group, { filter: { team: 'red' } });
    assert.deepEqual(filtered.faces.flatMap((f) => f.matches.map((m) => m.subject_id)), ['person-1']);
    const strict = await recognizeBase64(group, { min_similarity: 0.999 });
    assert.deepEqual(strict.faces.flatMap((f) => f.matches), []);
    assert.ok(Math.abs(strict.threshold - 0.999) < 1e-6);
    const withEmbedding = await recognizeBase64(crops[0]!, { include_embedding: true });
    assert.equal(withEmbedding.faces[0]!.embedding?.length, 512);
  });

  it('matches nobody in a photo of strangers', async () => {
    await enrolPair();
    const response = await recognizeBase64(strangers);
    assert.equal(response.faces.length, 3);
    assert.deepEqual(response.payloads, [[], [], []]);
  });

  describe('POST /uploadfile', () => {
    const assertGroup = (response: JsonRecognizeResponse) => {
      assert.equal(response.faces.length, 3);
      const bySubject = new Map(response.faces.map((face, i) => [face.matches[0]?.subject_id, response.payloads[i]]));
      assert.deepEqual(bySubject.get('person-0'), [{ name: 'Zero' }]);
      assert.deepEqual(bySubject.get('person-1'), [{ name: 'One', team: 'red' }]);
      assert.ok(response.boxes.every((box) => box.length === 4 && box.every((v) => Number.isInteger(v))));
    };

    it('takes the raw image body (Content-Type: image/jpeg)', async () => {
      await enrolPair();
      const response = await fetch(`${base}/uploadfile`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: group });
      assertGroup(await expectJson<JsonRecognizeResponse>(response, 200));
    });

    it('takes application/octet-stream too', async () => {
      await enrolPair();
      const response = await fetch(`${base}/uploadfile`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: group });
      assertGroup(await expectJson<JsonRecognizeResponse>(response, 200));
    });

    it('takes multipart/form-data with the image in field "file"', async () => {
      await enrolPair();
      const form = new FormData();
      form.append('note', 'ignored');
      form.append('file', new Blob([group], { type: 'image/jpeg' }), 'group.jpg');
      const response = await fetch(`${base}/uploadfile`, { method: 'POST', body: form });
      assertGroup(await expectJson<JsonRecognizeResponse>(response, 200));
    });

    it('rejects multipart/form-data without a "file" field with 400', async () => {
      const form = new FormData();
      form.append('image', new Blob([group], { type: 'image/jpeg' }), 'group.jpg');
      await expectStatus(await fetch(`${base}/uploadfile`, { method: 'POST', body: form }), 400, 3, /no file field "file"/);
    });

    it('rejects a media type other than image/*, octet-stream or multipart with 400 (the server decides, as behind Envoy)', async () => {
      const response = await fetch(`${base}/uploadfile`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
      await expectStatus(response, 400, 3, /unsupported media type "text\/plain"/);
    });

    it('rejects bytes that are not an image with 400', async () => {
      const response = await fetch(`${base}/uploadfile`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: randomBytes(5000) });
      await expectStatus(response, 400, 3, /not a supported image/);
    });
  });

  it('POST /v1/verify: two crops of the same person verify, two different people do not', async () => {
    const a = crops[0]!;
    const aSmall = await sharp(a).resize({ width: 160 }).jpeg({ quality: 70 }).toBuffer();
    type Verify = { similarity: number; verified: boolean; threshold: number; face_a: JsonFace; face_b: JsonFace };
    const same = await expectJson<Verify>(await post('/v1/verify', { image_a: a.toString('base64'), image_b: aSmall.toString('base64') }), 200);
    assert.equal(same.verified, true, `similarity ${same.similarity}`);
    assert.ok(same.similarity >= same.threshold);
    assert.equal(same.threshold, server.config.pipeline.similarityThreshold);
    assert.equal(same.face_a.landmarks.length, 5);
    assert.equal(same.face_b.landmarks.length, 5);
    const different = await expectJson<Verify>(await post('/v1/verify', { image_a: a.toString('base64'), image_b: crops[1]!.toString('base64') }), 200);
    assert.equal(different.verified, false, `similarity ${different.similarity}`);
    assert.ok(different.similarity < different.threshold);
    const lenient = await expectJson<Verify>(await post('/v1/verify', { image_a: a.toString('base64'), image_b: crops[1]!.toString('base64'), threshold: -1 }), 200);
    assert.equal(lenient.verified, true);
    assert.equal(lenient.threshold, -1);
    await expectStatus(await post('/v1/verify', { image_a: a.toString('base64') }), 400, 3, /image_b: image is empty/);
  });

  it('manages subjects: list pages, get, rename (seen in matches), delete a face, delete the subject, then 404', async () => {
    await enrolPair();
    type List = { subjects: JsonSubject[]; next_page_token: string; total_size: number };
    const first = await expectJson<List>(await fetch(`${base}/v1/subjects?page_size=1`), 200);
    assert.equal(first.subjects.length, 1);
    assert.equal(first.total_size, 2);
    assert.ok(first.next_page_token);
    const second = await expectJson<List>(await fetch(`${base}/v1/subjects?page_size=1&page_token=${encodeURIComponent(first.next_page_token)}`), 200);
    assert.equal(second.subjects.length, 1);
    assert.equal(second.next_page_token, '');
    const listed = [...first.subjects, ...second.subjects];
    assert.deepEqual(listed.map((s) => s.subject_id).sort(), ['person-0', 'person-1']);
    assert.ok(listed.every((s) => s.face_count === 1 && s.face_ids.length === 0));

    const zero = await expectJson<JsonSubject>(await fetch(`${base}/v1/subjects/person-0`), 200);
    assert.equal(zero.subject_id, 'person-0');
    assert.deepEqual(zero.payload, { name: 'Zero' });
    assert.equal(zero.face_count, 1);
    assert.equal(zero.face_ids.length, 1);

    const renamed = await expectJson<JsonSubject>(
      await fetch(`${base}/v1/subjects/person-0`, { method: 'PATCH', headers: JSON_HEADERS, body: JSON.stringify({ payload: { name: 'Zero Renamed' } }) }),
      200,
    );
    assert.equal(renamed.subject_id, 'person-0');
    assert.deepEqual(renamed.payload, { name: 'Zero Renamed' });
    assert.deepEqual(renamed.face_ids, zero.face_ids);
    const afterRename = await recognizeBase64(crops[0]!);
    assert.deepEqual(afterRename.payloads, [[{ name: 'Zero Renamed' }]]);

    // A face id of another subject is not found under this one.
    await expectStatus(await fetch(`${base}/v1/subjects/person-1/faces/${encodeURIComponent(zero.face_ids[0]!)}`, { method: 'DELETE' }), 404, 5);

    const one = await expectJson<JsonSubject>(await fetch(`${base}/v1/subjects/person-1`), 200);
    const deletedFace = await expectJson<{ face_id: string }>(await fetch(`${base}/v1/subjects/person-1/faces/${encodeURIComponent(one.face_ids[0]!)}`, { method: 'DELETE' }), 200);
    assert.equal(deletedFace.face_id, one.face_ids[0]);
    const oneMatches = await recognizeBase64(crops[1]!);
    assert.deepEqual(oneMatches.faces[0]!.matches, [], 'a deleted face is not matched');

    const deleted = await expectJson<{ subject_id: string; deleted_faces: number }>(await fetch(`${base}/v1/subjects/person-0`, { method: 'DELETE' }), 200);
    assert.deepEqual(deleted, { subject_id: 'person-0', deleted_faces: 1 });
    await expectStatus(await fetch(`${base}/v1/subjects/person-0`), 404, 5, /subject not found/);
    const zeroMatches = await recognizeBase64(crops[0]!);
    assert.deepEqual(zeroMatches.payloads, [[]]);
  });

  describe('errors', () => {
    it('bad JSON → 400 INVALID_ARGUMENT', async () => {
      await expectStatus(await post('/base64', '{"image": '), 400, 3, /not valid JSON/);
      await expectStatus(await post('/base64', '[1, 2]'), 400, 3, /JSON object/);
    });

    it('bad base64, a wrongly typed field or an unknown field → 400 INVALID_ARGUMENT', async () => {
      await expectStatus(await post('/base64', { image: '***not base64***' }), 400, 3, /base64/);
      await expectStatus(await post('/base64', { image: 12 }), 400, 3);
      await expectStatus(await post('/base64', { image: group.toString('base64'), no_such_field: 1 }), 400, 3, /no_such_field/);
    });

    it('valid base64 that is not an image → 400 from the server', async () => {
      await expectStatus(await post('/base64', { image: randomBytes(10_000).toString('base64') }), 400, 3, /not a supported image/);
      await expectStatus(await post('/base64', {}), 400, 3, /image is empty/);
      await expectStatus(await post('/v1/detect', { image: Buffer.from('hello, world').toString('base64') }), 400, 3);
    });

    it('unknown subject → 404 NOT_FOUND on get, rename and delete', async () => {
      await expectStatus(await fetch(`${base}/v1/subjects/nobody`), 404, 5, /subject not found/);
      await expectStatus(await fetch(`${base}/v1/subjects/nobody`, { method: 'PATCH', headers: JSON_HEADERS, body: '{"payload": {}}' }), 404, 5);
      await expectStatus(await fetch(`${base}/v1/subjects/nobody`, { method: 'DELETE' }), 404, 5, /subject not found/);
    });

    it('a JSON route with a non-JSON Content-Type → 415', async () => {
      const response = await post('/base64', JSON.stringify({ image: crops[0]!.toString('base64') }), { 'content-type': 'text/plain' });
      await expectStatus(response, 415, 3, /unsupported media type/);
    });

    it('unknown route → 404, wrong method → 405 with Allow, unknown query parameter → 400', async () => {
      await expectStatus(await fetch(`${base}/v2/nothing`), 404, 5, /no route/);
      const wrongMethod = await fetch(`${base}/base64`);
      assert.match(wrongMethod.headers.get('allow') ?? '', /POST/);
      await expectStatus(wrongMethod, 405, 12);
      await expectStatus(await fetch(`${base}/v1/subjects?colour=blue`), 400, 3, /unknown parameter "colour"/);
    });

    it('a body over the REST limit (maxMessageBytes as base64 JSON) → 413 RESOURCE_EXHAUSTED, and the server keeps serving', async () => {
      const huge = Buffer.alloc(6 * 1024 * 1024, 1);
      await expectStatus(await fetch(`${base}/uploadfile`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: huge }), 413, 8, /exceeds/);
      await expectStatus(await post('/base64', { image: huge.toString('base64') }), 413, 8);
      const info = await fetch(`${base}/`);
      assert.equal(info.status, 200);
      await info.body?.cancel();
    });

    it('takes an image of exactly maxMessageBytes to the server, raw or as base64 JSON (the image, not the envelope, is limited)', async () => {
      const atLimit = Buffer.alloc(4 * 1024 * 1024, 1);
      // Not an image, so the server's decoder answers: the message got through.
      await expectStatus(await fetch(`${base}/uploadfile`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: atLimit }), 400, 3, /not a supported image/);
      await expectStatus(await post('/base64', { image: atLimit.toString('base64') }), 400, 3, /not a supported image/);
    });

    it('echoes x-request-id', async () => {
      const response = await fetch(`${base}/`, { headers: { 'x-request-id': 'rest-test-42' } });
      assert.equal(response.headers.get('x-request-id'), 'rest-test-42');
      await response.body?.cancel();
    });
  });

  describe('CORS', () => {
    it('answers a preflight with 204 and the allow headers', async () => {
      const response = await fetch(`${base}/base64`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
      });
      assert.equal(response.status, 204);
      assert.equal(response.headers.get('access-control-allow-origin'), '*');
      assert.match(response.headers.get('access-control-allow-methods') ?? '', /POST/);
      assert.match(response.headers.get('access-control-allow-headers') ?? '', /authorization/);
      assert.match(response.headers.get('access-control-allow-headers') ?? '', /content-type/);
    });

    it('adds Access-Control-Allow-Origin to actual requests, errors included', async () => {
      const ok = await fetch(`${base}/`, { headers: { origin: 'https://app.example' } });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('access-control-allow-origin'), '*');
      assert.match(ok.headers.get('access-control-expose-headers') ?? '', /grpc-status/);
      await ok.body?.cancel();
      const notFound = await fetch(`${base}/v1/subjects/nobody`, { headers: { origin: 'https://app.example' } });
      assert.equal(notFound.headers.get('access-control-allow-origin'), '*');
      await expectStatus(notFound, 404, 5);
    });
  });
});

describe('REST API with JWT auth (real server)', () => {
  const secret = 'rest-test-secret-0123456789abcdef';
  let server: TestServer;
  let base: string;

  before(async () => {
    server = await startTestServer({ auth: { secretKey: secret } }, undefined, { rest: true });
    base = server.restUrl!;
  });
  after(() => server.stop());

  const recognize = (authorization?: string) =>
    fetch(`${base}/base64`, {
      method: 'POST',
      headers: { ...JSON_HEADERS, ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ image: photo(1).toString('base64') }),
    });
  const enrol = (authorization: string) =>
    fetch(`${base}/v1/subjects/alice/faces`, {
      method: 'POST',
      headers: { ...JSON_HEADERS, authorization },
      body: JSON.stringify({ image: photo(1).toString('base64'), payload: { name: 'Alice' }, face_policy: 'FACE_POLICY_LARGEST' }),
    });

  it('GET / needs no token and says auth is required', async () => {
    const info = await expectJson<{ auth_required: boolean }>(await fetch(`${base}/`), 200);
    assert.equal(info.auth_required, true);
  });

  it('POST /base64 without a token → 401 UNAUTHENTICATED', async () => {
    await expectStatus(await recognize(), 401, 16, /no authorization/);
  });

  it('a bad token → 401 UNAUTHENTICATED', async () => {
    await expectStatus(await recognize('Bearer garbage'), 401, 16, /malformed/);
    const otherSecret = await mintToken({ secret: 'some-other-secret-0123456789abcdef', scopes: ['faces:read'] });
    await expectStatus(await recognize(`Bearer ${otherSecret}`), 401, 16, /signature/);
    const expired = await mintToken({ secret, scopes: ['faces:read'], expiresIn: '-1m' });
    await expectStatus(await recognize(`Bearer ${expired}`), 401, 16, /expired/);
    const endless = await new SignJWT({ scope: 'faces:read' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
    await expectStatus(await recognize(`Bearer ${endless}`), 401, 16, /no "exp" claim/);
    await expectStatus(await recognize('Basic dXNlcjpwYXNz'), 401, 16);
  });

  it('a faces:read token may recognise (200) but not enrol (403 PERMISSION_DENIED)', async () => {
    const reader = `Bearer ${await mintToken({ secret, scopes: ['faces:read'] })}`;
    const response = await expectJson<JsonRecognizeResponse>(await recognize(reader), 200);
    assert.equal(response.faces.length, 3);
    assert.equal(response.payloads.length, 3);
    await expectStatus(await enrol(reader), 403, 7, /faces:write/);
    await expectStatus(await fetch(`${base}/v1/subjects/alice`, { method: 'DELETE', headers: { authorization: reader } }), 403, 7);
  });

  it('a faces:write token may enrol', async () => {
    const writer = `Bearer ${await mintToken({ secret, scopes: ['faces:read', 'faces:write'] })}`;
    const enrolled = await expectJson<{ subject_id: string; duplicate: boolean }>(await enrol(writer), 200);
    assert.equal(enrolled.subject_id, 'alice');
    assert.equal(enrolled.duplicate, false);
  });

  it('answers CORS preflights without a token', async () => {
    const response = await fetch(`${base}/v1/subjects/alice/faces`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } });
    assert.equal(response.status, 204);
    assert.equal(response.headers.get('access-control-allow-origin'), '*');
  });
});

describe('REST gateway start-up', () => {
  const listen = (port: number) =>
    new Promise<Server>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve(server));
    });
  const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

  // Listening sockets this process holds (the gRPC server, the gateway, the blocker).
  const listeningSockets = () => process.getActiveResourcesInfo().filter((kind) => kind === 'TCPServerWrap').length;

  it('a taken REST port fails the start and leaves no gRPC server behind', async () => {
    const blocker = await listen(0);
    const restPort = (blocker.address() as { port: number }).port;
    const dataDir = await mkdtemp(join(tmpdir(), 'facerec-rest-test-'));
    const before = listeningSockets();
    try {
      await assert.rejects(startTestServer({ server: { restPort } }, dataDir, { rest: true }), { code: 'EADDRINUSE' });
      // The gRPC server had started before the gateway failed; it must be gone again.
      // A closed socket leaves the list as the event loop turns, so give it a few turns.
      for (let turn = 0; turn < 10 && listeningSockets() > before; turn++) await new Promise((resolve) => setImmediate(resolve));
      assert.equal(listeningSockets(), before);
    } finally {
      await close(blocker);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
