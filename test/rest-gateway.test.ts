/**
 * The built-in REST gateway against a STUB gRPC server.
 *
 * test/rest.test.ts drives the gateway in front of the real server (real
 * photos, real pipeline, real JWT auth). This file swaps the server for a stub
 * with canned answers because some gateway behaviour needs exact requests and
 * failures the real server gives only by accident (a RESOURCE_EXHAUSTED with
 * retry-after, the very bytes a route hands to gRPC): routes from the
 * descriptor's google.api.http rules, the proto3 JSON mapping, path and query
 * bindings, HttpBody pass-through, gRPC → HTTP status mapping, CORS and the
 * body limit.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Server, ServerCredentials, Metadata, status, type ServerUnaryCall, type sendUnaryData, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { FaceRecognitionService } from '../src/gen/facerec/v1/facerec.js';
import { startRestGateway, type RestGateway } from '../src/server/rest/index.js';
import { imageFromHttpBody } from '../src/server/http-body.js';
import { silentLogger } from '../src/logger.js';
import { recordingLogger } from './support/recording-logger.js';

const DESCRIPTOR = 'envoy/descriptor.pb';
const PHOTO = readFileSync('test/photos/sample1.jpg');
const TOKEN = 'Bearer good';

interface Seen {
  path: string;
  request: unknown;
  metadata: Record<string, unknown>;
}
const seen: Seen[] = [];
const lastSeen = () => seen[seen.length - 1]!;

function fail(code: status, details: string, extra?: Record<string, string>) {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(extra ?? {})) metadata.set(k, v);
  return Object.assign(new Error(details), { code, details, metadata });
}

/** Wraps a canned handler: records the call and applies the stub's token rule. */
function unary<Req, Res>(path: string, handler: (request: Req) => Res, open = false) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    seen.push({ path, request: call.request, metadata: call.metadata.getMap() });
    const auth = call.metadata.get('authorization')[0];
    if (!open && auth === undefined) return callback(fail(status.UNAUTHENTICATED, 'missing or invalid bearer token'));
    if (!open && auth !== TOKEN) return callback(fail(status.UNAUTHENTICATED, 'missing or invalid bearer token: bad signature'));
    try {
      callback(null, handler(call.request));
    } catch (error) {
      callback(error as Error);
    }
  };
}

const face = { box: { x1: 10, y1: 20, x2: 110, y2: 140 }, score: 0.99, landmarks: [], matches: [], embedding: [], embedded: true, trackId: 0 };

const stub: UntypedServiceImplementation = {
  getInfo: unary('GetInfo', () => ({ service: 'facerec', version: '0.1.0', models: [], storeBackend: 'embedded', subjects: 3, faces: 7, defaultThreshold: 0.4, embeddingDim: 512, authRequired: false }), true),
  recognize: unary('Recognize', (req: { image: Buffer; topK: number }) => ({
    faces: [{ ...face, matches: [{ subjectId: 'alice', faceId: 'f1', similarity: 0.8, payload: { name: 'Alice' } }] }],
    payloads: [[{ name: 'Alice' }]],
    boxes: [[10, 20, 110, 140]],
    imageWidth: req.image.length,
    imageHeight: req.topK,
    threshold: 0.4,
  })),
  recognizeUpload: unary('RecognizeUpload', (req: { contentType: string; data: Buffer }) => ({ faces: [], payloads: [], boxes: [], imageWidth: req.data.length, imageHeight: 0, threshold: 0.4 })),
  detect: unary('Detect', () => {
    throw fail(status.RESOURCE_EXHAUSTED, 'inference queue is full, retry later', { 'retry-after': '1' });
  }),
  verify: unary('Verify', (req: { imageA: Buffer }) => {
    if (req.imageA.length === 0) throw fail(status.INVALID_ARGUMENT, 'image is empty (0 bytes)');
    return { similarity: 0.7, verified: true, threshold: 0.4, faceA: face, faceB: face };
  }),
  enrollFace: unary('EnrollFace', (req: { subjectId: string; image: Buffer }) => ({ subjectId: req.subjectId, faceId: `face-${req.image.length}`, duplicate: false, face })),
  listSubjects: unary('ListSubjects', (req: { pageSize: number; pageToken: string }) => ({ subjects: [{ subjectId: 'alice', payload: { name: 'Alice' }, faceCount: 2, faceIds: [] }], nextPageToken: `${req.pageToken}+${req.pageSize}`, totalSize: 1 })),
  getSubject: unary('GetSubject', (req: { subjectId: string }) => {
    if (req.subjectId === 'ghost') throw fail(status.NOT_FOUND, 'subject not found: ghost');
    return { subjectId: req.subjectId, payload: { name: 'Alice' }, faceCount: 1, faceIds: ['f1'] };
  }),
  updateSubject: unary('UpdateSubject', (req: { subjectId: string; payload: unknown }) => ({ subjectId: req.subjectId, payload: req.payload, faceCount: 1, faceIds: [] })),
  deleteSubject: unary('DeleteSubject', (req: { subjectId: string }) => {
    throw fail(status.PERMISSION_DENIED, `token lacks the required scope: faces:write (${req.subjectId})`);
  }),
  deleteFace: unary('DeleteFace', (req: { faceId: string }) => ({ faceId: req.faceId })),
  recognizeStream: () => undefined,
  bulkIngest: () => undefined,
};

let grpcServer: Server;
let gateway: RestGateway;
let small: RestGateway;
let url: string;

before(async () => {
  grpcServer = new Server();
  grpcServer.addService(FaceRecognitionService, stub);
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
  );
  const common = { host: '127.0.0.1', port: 0, grpcTarget: `127.0.0.1:${grpcPort}`, descriptorPath: DESCRIPTOR, requestTimeoutMs: 60_000, logger: silentLogger };
  gateway = await startRestGateway({ ...common, corsOrigins: ['*'], maxBodyBytes: 16 * 1024 * 1024 });
  small = await startRestGateway({ ...common, corsOrigins: ['https://app.example'], maxBodyBytes: 64 * 1024 });
  url = `http://127.0.0.1:${gateway.port}`;
});

after(async () => {
  await gateway.close();
  await small.close();
  grpcServer.forceShutdown();
});

const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json', authorization: TOKEN }, body: JSON.stringify(body) });

async function expectStatus(response: Response, httpStatus: number, grpcCode: number, message?: RegExp): Promise<void> {
  assert.equal(response.status, httpStatus);
  const body = (await response.json()) as { code: number; message: string; details: unknown[] };
  assert.equal(body.code, grpcCode);
  assert.deepEqual(body.details, []);
  if (message) assert.match(body.message, message);
}

test('GET / reaches GetInfo without a token; snake_case, defaults printed, uint64 as string', async () => {
  const response = await fetch(`${url}/`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /application\/json/);
  const body = (await response.json()) as Record<string, unknown>;
  assert.equal(lastSeen().path, 'GetInfo');
  assert.equal(body.store_backend, 'embedded');
  assert.equal(body.embedding_dim, 512);
  assert.equal(body.auth_required, false, 'primitive fields at their default are printed');
  assert.deepEqual(body.models, []);
  assert.equal(body.subjects, '3', 'uint64 is a string in proto3 JSON, as Envoy prints it');
});

test('POST /base64: base64 bytes in, payloads and boxes as JSON lists out', async () => {
  const response = await fetch(`${url}/base64`, json({ image: PHOTO.toString('base64'), top_k: 3, min_similarity: 0.5 }));
  assert.equal(response.status, 200);
  const request = lastSeen().request as { image: Buffer; topK: number; minSimilarity: number };
  assert.deepEqual(request.image, PHOTO);
  assert.equal(request.topK, 3);
  assert.equal(request.minSimilarity, 0.5);
  const body = (await response.json()) as Record<string, any>;
  assert.deepEqual(body.payloads, [[{ name: 'Alice' }]]);
  assert.deepEqual(body.boxes, [[10, 20, 110, 140]]);
  assert.equal(body.faces[0].matches[0].subject_id, 'alice');
  assert.deepEqual(body.faces[0].box, { x1: 10, y1: 20, x2: 110, y2: 140 });
  assert.equal(body.image_width, PHOTO.length);
  // camelCase JSON names are accepted on input too, as in the proto3 mapping.
  const camel = await fetch(`${url}/base64`, json({ image: 'AAEC', topK: 2 }));
  assert.equal(camel.status, 200);
  assert.equal((lastSeen().request as { topK: number }).topK, 2);
});

test('bad JSON, bad base64, unknown fields and wrong types are 400; a non-JSON body is 415', async () => {
  const bad = (body: string, type = 'application/json') => fetch(`${url}/base64`, { method: 'POST', headers: { 'content-type': type, authorization: TOKEN }, body });
  await expectStatus(await bad('{"image": '), 400, 3, /not valid JSON/);
  await expectStatus(await bad('{"image": "@@not base64@@"}'), 400, 3, /RecognizeRequest/);
  await expectStatus(await bad('{"image": "AAEC", "colour": 1}'), 400, 3, /colour/);
  await expectStatus(await bad('{"top_k": -1}'), 400, 3);
  await expectStatus(await bad('[1, 2]'), 400, 3, /JSON object/);
  await expectStatus(await bad('image=abc', 'text/plain'), 415, 3, /unsupported media type/);
  // Forms are taken on /base64 only (the seed's route); every other JSON route refuses them as Envoy would.
  const detect = await fetch(`${url}/v1/detect`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: TOKEN }, body: 'image=AAEC' });
  await expectStatus(detect, 415, 3, /unsupported media type/);
});

test('POST /base64 takes the seed\'s form field image_base64, urlencoded or multipart, beside the JSON body', async () => {
  const b64 = PHOTO.toString('base64');
  const post = (body: URLSearchParams | FormData) => fetch(`${url}/base64`, { method: 'POST', headers: { authorization: TOKEN }, body });
  const seen = async (response: Response) => {
    assert.equal(response.status, 200, await response.clone().text());
    return lastSeen().request as { image: Buffer; topK: number; minSimilarity?: number; includeEmbedding: boolean };
  };

  // fetch sends URLSearchParams as application/x-www-form-urlencoded, FormData as multipart/form-data.
  const urlencoded = await seen(await post(new URLSearchParams({ image_base64: b64, top_k: '2', min_similarity: '0.5' })));
  assert.deepEqual(urlencoded.image, PHOTO);
  assert.equal(urlencoded.topK, 2);
  assert.equal(urlencoded.minSimilarity, 0.5);

  const fields = new FormData();
  fields.set('image_base64', b64);
  fields.set('include_embedding', 'true');
  const multipart = await seen(await post(fields));
  assert.deepEqual(multipart.image, PHOTO);
  assert.equal(multipart.includeEmbedding, true);

  // `curl -F image_base64=@photo.b64` sends the base64 text as a file part.
  const filePart = new FormData();
  filePart.set('image_base64', new Blob([b64], { type: 'text/plain' }), 'photo.b64');
  assert.deepEqual((await seen(await post(filePart))).image, PHOTO);
});

test('a /base64 form without image_base64, with an image file, or with unknown fields is 400', async () => {
  const post = (body: URLSearchParams | FormData) => fetch(`${url}/base64`, { method: 'POST', headers: { authorization: TOKEN }, body });
  await expectStatus(await post(new URLSearchParams({ top_k: '2' })), 400, 3, /no field "image_base64"/);
  await expectStatus(await post(new URLSearchParams({ image_base64: 'AAEC', colour: 'red' })), 400, 3, /colour/);
  await expectStatus(await post(new URLSearchParams({ image_base64: '@@not base64@@' })), 400, 3, /RecognizeRequest/);
  await expectStatus(await post(new URLSearchParams({ image_base64: 'AAEC', filter: 'x' })), 400, 3, /filter/);
  const file = new FormData();
  file.set('file', new Blob([PHOTO], { type: 'image/jpeg' }), 'photo.jpg');
  await expectStatus(await post(file), 400, 3, /\/uploadfile/);
});

test('/uploadfile passes a raw image body through as google.api.HttpBody', async () => {
  const response = await fetch(`${url}/uploadfile`, { method: 'POST', headers: { 'content-type': 'image/jpeg', authorization: TOKEN }, body: PHOTO });
  assert.equal(response.status, 200);
  const request = lastSeen().request as { contentType: string; data: Buffer };
  assert.equal(request.contentType, 'image/jpeg');
  assert.deepEqual(request.data, PHOTO);
  assert.deepEqual(await imageFromHttpBody(request), PHOTO);
});

test('/uploadfile passes multipart/form-data through unchanged; the server-side parser finds field "file"', async () => {
  const form = new FormData();
  form.append('file', new Blob([PHOTO], { type: 'image/jpeg' }), 'photo.jpg');
  const response = await fetch(`${url}/uploadfile`, { method: 'POST', headers: { authorization: TOKEN }, body: form });
  assert.equal(response.status, 200);
  const request = lastSeen().request as { contentType: string; data: Buffer };
  assert.match(request.contentType, /^multipart\/form-data; boundary=/);
  assert.ok(request.data.includes(PHOTO), 'the multipart body reaches the server byte for byte');
  assert.deepEqual(await imageFromHttpBody(request), PHOTO);
});

test('path variables and query parameters fill request fields', async () => {
  let response = await fetch(`${url}/v1/subjects/alice%20smith`, { headers: { authorization: TOKEN } });
  assert.equal(response.status, 200);
  assert.deepEqual(lastSeen().request, { subjectId: 'alice smith' });
  assert.deepEqual(((await response.json()) as Record<string, unknown>).face_ids, ['f1']);

  response = await fetch(`${url}/v1/subjects?page_size=10&page_token=abc`, { headers: { authorization: TOKEN } });
  assert.equal(response.status, 200);
  assert.equal(((await response.json()) as Record<string, unknown>).next_page_token, 'abc+10');

  response = await fetch(`${url}/v1/subjects/bob/faces/f9`, { method: 'DELETE', headers: { authorization: TOKEN } });
  assert.equal(response.status, 200);
  assert.deepEqual(lastSeen().request, { subjectId: 'bob', faceId: 'f9' });

  response = await fetch(`${url}/v1/subjects/bob/faces`, json({ image: PHOTO.toString('base64'), payload: { name: 'Bob' }, face_policy: 'FACE_POLICY_LARGEST' }));
  assert.equal(response.status, 200);
  const enrolled = lastSeen().request as { subjectId: string; payload: unknown; facePolicy: number };
  assert.equal(enrolled.subjectId, 'bob');
  assert.deepEqual(enrolled.payload, { name: 'Bob' });
  assert.equal(enrolled.facePolicy, 2);
  assert.equal(((await response.json()) as Record<string, unknown>).face_id, `face-${PHOTO.length}`);

  response = await fetch(`${url}/v1/subjects/bob`, { ...json({ payload: { name: 'Robert', age: 40 } }), method: 'PATCH' });
  assert.equal(response.status, 200);
  assert.deepEqual(((await response.json()) as Record<string, unknown>).payload, { name: 'Robert', age: 40 });

  await expectStatus(await fetch(`${url}/v1/subjects?colour=red`, { headers: { authorization: TOKEN } }), 400, 3, /unknown parameter "colour"/);
});

test('gRPC status becomes the HTTP status of Envoy\'s table, with a google.rpc.Status body', async () => {
  await expectStatus(await fetch(`${url}/v1/subjects/ghost`, { headers: { authorization: TOKEN } }), 404, 5, /subject not found/);
  await expectStatus(await fetch(`${url}/v1/subjects/alice`), 401, 16, /bearer token/);
  await expectStatus(await fetch(`${url}/v1/subjects/alice`, { headers: { authorization: 'Bearer nope' } }), 401, 16, /bad signature/);
  await expectStatus(await fetch(`${url}/v1/subjects/alice`, { method: 'DELETE', headers: { authorization: TOKEN } }), 403, 7, /faces:write/);
  await expectStatus(await fetch(`${url}/v1/verify`, json({ image_a: '', image_b: 'AAEC' })), 400, 3, /image is empty/);
  const queueFull = await fetch(`${url}/v1/detect`, json({ image: 'AAEC' }));
  assert.equal(queueFull.headers.get('retry-after'), '1');
  await expectStatus(queueFull, 429, 8, /queue is full/);
});

test('authorization, trace context and x-request-id are forwarded as metadata', async () => {
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const response = await fetch(`${url}/v1/subjects/alice`, { headers: { authorization: TOKEN, traceparent, tracestate: 'k=v', 'x-request-id': 'req-42' } });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('x-request-id'), 'req-42');
  const { metadata } = lastSeen();
  assert.equal(metadata.authorization, TOKEN);
  assert.equal(metadata.traceparent, traceparent);
  assert.equal(metadata.tracestate, 'k=v');
  assert.equal(metadata['x-request-id'], 'req-42');
  await fetch(`${url}/`);
  assert.match(String(lastSeen().metadata['x-request-id']), /^[0-9a-f-]{36}$/, 'a request id is generated when absent');
});

test('unknown routes are 404 and wrong verbs 405 with Allow', async () => {
  await expectStatus(await fetch(`${url}/v2/nothing`), 404, 5, /no route/);
  const wrongVerb = await fetch(`${url}/base64`, { headers: { authorization: TOKEN } });
  assert.equal(wrongVerb.headers.get('allow'), 'POST');
  await expectStatus(wrongVerb, 405, 12);
});

test('CORS: preflight answered without a token; configured origins only', async () => {
  const preflight = (base: string, origin: string) =>
    fetch(`${base}/base64`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
  const before = seen.length;
  const any = await preflight(url, 'https://anywhere.example');
  assert.equal(any.status, 204);
  assert.equal(any.headers.get('access-control-allow-origin'), '*');
  assert.match(any.headers.get('access-control-allow-methods') ?? '', /POST/);
  assert.match(any.headers.get('access-control-allow-headers') ?? '', /authorization/);
  assert.equal(seen.length, before, 'a preflight never reaches the gRPC server');
  const actual = await fetch(`${url}/`, { headers: { origin: 'https://anywhere.example' } });
  assert.equal(actual.headers.get('access-control-allow-origin'), '*');

  const smallUrl = `http://127.0.0.1:${small.port}`;
  const allowed = await preflight(smallUrl, 'https://app.example');
  assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example');
  const denied = await preflight(smallUrl, 'https://evil.example');
  assert.equal(denied.status, 204);
  assert.equal(denied.headers.get('access-control-allow-origin'), null);
});

test('a body over maxBodyBytes is 413, JSON or HttpBody', async () => {
  const smallUrl = `http://127.0.0.1:${small.port}`;
  const big = Buffer.alloc(100 * 1024, 1);
  const before = seen.length;
  await expectStatus(await fetch(`${smallUrl}/uploadfile`, { method: 'POST', headers: { 'content-type': 'image/jpeg', authorization: TOKEN }, body: big }), 413, 8, /exceeds 65536 bytes/);
  await expectStatus(await fetch(`${smallUrl}/base64`, json({ image: big.toString('base64') })), 413, 8);
  assert.equal(seen.length, before, 'nothing oversized reaches the gRPC server');
  const fits = await fetch(`${smallUrl}/uploadfile`, { method: 'POST', headers: { 'content-type': 'image/jpeg', authorization: TOKEN }, body: big.subarray(0, 60 * 1024) });
  assert.equal(fits.status, 200);
});

test('an unreachable gRPC server is 503 UNAVAILABLE, and logged with the target', async () => {
  const log = recordingLogger();
  const orphan = await startRestGateway({ host: '127.0.0.1', port: 0, grpcTarget: '127.0.0.1:1', descriptorPath: DESCRIPTOR, corsOrigins: ['*'], maxBodyBytes: 1024, requestTimeoutMs: 5000, logger: log.logger });
  try {
    await expectStatus(await fetch(`http://127.0.0.1:${orphan.port}/`), 503, 14);
    const [warning] = log.entries.filter((e) => e.level === 'warn');
    assert.equal(warning?.message, 'rest gateway: facerec gRPC server unreachable');
    assert.equal(warning?.target, '127.0.0.1:1');
    assert.ok(String(warning?.cause).length > 0, 'with the cause');
  } finally {
    await orphan.close();
  }
});
