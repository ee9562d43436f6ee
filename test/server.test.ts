/**
 * The gRPC API end to end: the real server (real models, real embedded store)
 * on a loopback port, driven by the generated client. One server serves the
 * whole file (the models load once); the gallery is emptied before each test
 * and each test enrols what it needs, so any test runs alone
 * (--test-name-pattern) or in any order.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, beforeEach, describe, it } from 'node:test';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { loadPackageDefinition } from '@grpc/grpc-js';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import sharp from 'sharp';
import { FacePolicy, type Face, type FrameResult, type IngestRequest } from '../src/gen/facerec/v1/facerec.js';
import { bulkIngest, call, emptyGallery, startTestServer, type TestServer } from './support/facerec-server.js';
import { cropFace, iou, onePixelPng, photo, pngDeclaring, randomBytes, truncated, type PixelBox } from './support/images.js';

function assertStatus(code: status, pattern?: RegExp) {
  return (error: unknown) => {
    const e = error as ServiceError;
    assert.equal(e.code, code, `expected ${status[code]}, got ${status[e.code]}: ${e.details}`);
    if (pattern) assert.match(e.details, pattern);
    return true;
  };
}

function item(subjectId: string, image: Buffer, payload: Record<string, unknown> = {}): IngestRequest {
  return { subjectId, image, payload, facePolicy: FacePolicy.FACE_POLICY_UNSPECIFIED };
}

function matchedSubject(face: Face): string | undefined {
  return face.matches[0]?.subjectId;
}

const NAMES = ['Zero', 'One', 'Two'];

describe('gRPC API', () => {
  let server: TestServer;
  const group = photo(1);
  let groupFaces: Face[] = [];
  /** One crop per face of the group photo, in groupFaces order. */
  let crops: Buffer[] = [];

  before(async () => {
    server = await startTestServer();
    const detected = await call(server.client.detect, server.client, { image: group, includeEmbedding: false });
    groupFaces = detected.faces;
    crops = await Promise.all(groupFaces.map((face) => cropFace(group, face.box!)));
  });
  beforeEach(() => emptyGallery(server));
  after(async () => {
    await server.stop({ keepData: true });
    await rm(server.dataDir, { recursive: true, force: true });
  });

  /** Enrols the three people of the group photo as person-0..2, named Zero, One and Two. */
  async function enrolGroup(): Promise<void> {
    const summary = await bulkIngest(server, crops.map((crop, i) => item(`person-${i}`, crop, { name: NAMES[i] })));
    assert.equal(summary.enrolled, 3, JSON.stringify(summary.errors));
  }

  it('runs no REST gateway or metrics endpoint unless they are turned on', () => {
    assert.equal(server.app.restPort, undefined);
    assert.equal(server.app.metricsPort, undefined);
    assert.ok(server.app.grpcPort > 0, 'gRPC port 0 became a free port');
  });

  it('reports SERVING on grpc.health.v1 once models are loaded', async () => {
    const health = loadPackageDefinition(loadSync(healthProtoPath, { enums: String })) as any;
    const client = new health.grpc.health.v1.Health(`127.0.0.1:${server.app.grpcPort}`, credentials.createInsecure());
    const reply = await new Promise<any>((resolve, reject) => client.check({ service: 'facerec.v1.FaceRecognition' }, (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r))));
    client.close();
    assert.equal(reply.status, 'SERVING');
  });

  it('describes itself in GetInfo', async () => {
    const info = await call(server.client.getInfo, server.client, {});
    assert.equal(info.service, 'facerec.v1.FaceRecognition');
    assert.equal(info.storeBackend, 'embedded');
    assert.equal(info.embeddingDim, 512);
    assert.deepEqual(info.models.map((m) => m.name).sort(), ['detector', 'embedder', 'landmarks']);
    for (const model of info.models) assert.match(model.sha256, /^[0-9a-f]{64}$/);
    assert.ok(info.defaultThreshold > 0 && info.defaultThreshold < 1);
  });

  it('detects the three faces of sample1 with boxes in pixels and five landmarks', () => {
    assert.equal(groupFaces.length, 3);
    for (const face of groupFaces) {
      assert.equal(face.landmarks.length, 5);
      assert.ok(face.box!.x2 > face.box!.x1 && face.box!.x2 <= 1920);
      assert.equal(face.matches.length, 0);
    }
  });

  it('enrols with BulkIngest: a bad item in the middle is reported, the rest enrolled, duplicates counted', async () => {
    const summary = await bulkIngest(server, [
      item('person-0', crops[0]!, { name: 'Zero' }),
      item('person-1', crops[1]!, { name: 'One' }),
      item('broken', randomBytes(5000)),
      item('person-2', crops[2]!, { name: 'Two' }),
      item('person-0', crops[0]!, { name: 'Zero' }),
    ]);
    assert.equal(summary.received, 5);
    assert.equal(summary.enrolled, 3);
    assert.equal(summary.duplicates, 1);
    assert.equal(summary.failed, 1);
    assert.equal(summary.errors.length, 1);
    assert.equal(summary.errors[0]!.index, 2);
    assert.equal(summary.errors[0]!.subjectId, 'broken');
    assert.equal(summary.errors[0]!.codeName, 'INVALID_ARGUMENT');
    assert.match(summary.errors[0]!.message, /not a supported image/);
  });

  it('recognises each enrolled person in the group photo and in a mirrored, resized copy', async () => {
    await enrolGroup();
    const response = await call(server.client.recognize, server.client, { image: group, topK: 2, includeEmbedding: true, filter: undefined, matchFaces: false });
    assert.equal(response.faces.length, 3);
    for (const face of response.faces) {
      const index = groupFaces.findIndex((g) => iou(g.box as PixelBox, face.box as PixelBox) > 0.5);
      assert.equal(matchedSubject(face), `person-${index}`);
      assert.ok(face.matches[0]!.similarity >= response.threshold);
      assert.equal(face.embedding.length, 512);
    }
    // The seed's REST fields, in face order.
    assert.equal(response.payloads.length, 3);
    assert.equal(response.boxes[0]!.length, 4);
    assert.ok(response.boxes[0]!.every((v: unknown) => Number.isInteger(v)));
    assert.ok(['Zero', 'One', 'Two'].includes(response.payloads[0]![0]!.name));

    const mirrored = await sharp(group).flop().resize({ width: 1280 }).jpeg({ quality: 80 }).toBuffer();
    const other = await call(server.client.recognize, server.client, { image: mirrored, topK: 1, includeEmbedding: false, filter: undefined, matchFaces: false });
    assert.deepEqual(other.faces.map(matchedSubject).sort(), ['person-0', 'person-1', 'person-2']);
  });

  it('matches nobody in a photo of strangers at the default threshold', async () => {
    await enrolGroup();
    const response = await call(server.client.recognize, server.client, { image: photo(2), topK: 1, includeEmbedding: false, filter: undefined, matchFaces: false });
    assert.equal(response.faces.length, 3);
    for (const face of response.faces) assert.deepEqual(face.matches, []);
  });

  it('filters matches on the subject payload', async () => {
    await enrolGroup();
    const response = await call(server.client.recognize, server.client, { image: group, topK: 1, includeEmbedding: false, filter: { name: 'One' }, matchFaces: false });
    assert.deepEqual(response.faces.map(matchedSubject).filter(Boolean), ['person-1']);
  });

  it('verifies the same person and rejects different people', async () => {
    const [a, b] = [crops[0]!, crops[1]!];
    const aSmall = await sharp(a).resize({ width: 160 }).jpeg({ quality: 70 }).toBuffer();
    const same = await call(server.client.verify, server.client, { imageA: a, imageB: aSmall });
    assert.equal(same.verified, true, `similarity ${same.similarity}`);
    const different = await call(server.client.verify, server.client, { imageA: a, imageB: b });
    assert.equal(different.verified, false, `similarity ${different.similarity}`);
    assert.equal(different.threshold, same.threshold);
    await assert.rejects(call(server.client.verify, server.client, { imageA: a, imageB: Buffer.alloc(0) }), assertStatus(status.INVALID_ARGUMENT, /image_b: image is empty/));
  });

  it('lists subjects page by page, renames one and shows the new name in matches', async () => {
    await enrolGroup();
    const first = await call(server.client.listSubjects, server.client, { pageSize: 2, pageToken: '' });
    assert.equal(first.subjects.length, 2);
    assert.equal(first.totalSize, 3);
    assert.ok(first.nextPageToken);
    const second = await call(server.client.listSubjects, server.client, { pageSize: 2, pageToken: first.nextPageToken });
    assert.equal(second.subjects.length, 1);
    assert.equal(second.nextPageToken, '');
    const all = [...first.subjects, ...second.subjects];
    assert.deepEqual(all.map((s) => s.subjectId).sort(), ['person-0', 'person-1', 'person-2']);
    assert.ok(all.every((s) => s.faceCount === 1));

    const renamed = await call(server.client.updateSubject, server.client, { subjectId: 'person-2', payload: { name: 'Deux' } });
    assert.deepEqual(renamed.payload, { name: 'Deux' });
    assert.equal(renamed.faceIds.length, 1);
    const response = await call(server.client.recognize, server.client, { image: group, topK: 1, includeEmbedding: false, filter: undefined, matchFaces: false });
    const match = response.faces.flatMap((f) => f.matches).find((m) => m.subjectId === 'person-2');
    assert.deepEqual(match?.payload, { name: 'Deux' });
  });

  it('streams camera frames in order; a bad frame gets an error result and the stream goes on', async () => {
    const frames = [group, randomBytes(300), photo(2)];
    const results = await new Promise<FrameResult[]>((resolve, reject) => {
      const out: FrameResult[] = [];
      const stream = server.client.recognizeStream();
      stream.on('data', (result: FrameResult) => out.push(result));
      stream.on('error', reject);
      stream.on('end', () => resolve(out));
      frames.forEach((image, i) => stream.write({ image, cameraId: 'door', sequence: i + 1, topK: 1, matchFaces: false, policy: 0, timestamp: undefined }));
      stream.end();
    });
    // The last result closes the open tracks once the client half-closes.
    assert.equal(results.pop()?.final, true);
    assert.deepEqual(results.map((r) => r.sequence), [1, 2, 3]);
    assert.equal(results[0]!.faces.length, 3);
    assert.equal(results[1]!.error?.code, status.INVALID_ARGUMENT);
    assert.equal(results[2]!.faces.length, 3);
    assert.equal(results[0]!.cameraId, 'door');
  });

  describe('bad input over a real connection', () => {
    const cases: Array<[string, () => Promise<Buffer> | Buffer, status, RegExp]> = [
      ['empty bytes', () => Buffer.alloc(0), status.INVALID_ARGUMENT, /image is empty/],
      ['random bytes', () => randomBytes(10_000), status.INVALID_ARGUMENT, /not a supported image/],
      ['a truncated JPEG', () => truncated(group), status.INVALID_ARGUMENT, /truncated or corrupt/],
      ['a 1×1 image', onePixelPng, status.INVALID_ARGUMENT, /too small.*1×1/],
      ['a PNG declaring 30000×30000 pixels', () => pngDeclaring(30000, 30000), status.INVALID_ARGUMENT, /too many pixels.*30000×30000/],
    ];
    for (const [name, make, code, pattern] of cases) {
      it(`rejects ${name} with ${status[code]}`, async () => {
        const image = await make();
        await assert.rejects(call(server.client.recognize, server.client, { image, topK: 1, includeEmbedding: false, filter: undefined, matchFaces: false }), assertStatus(code, pattern));
      });
    }

    it('rejects a 40 MiB message with RESOURCE_EXHAUSTED', async () => {
      const image = Buffer.alloc(40 * 1024 * 1024, 1);
      await assert.rejects(call(server.client.recognize, server.client, { image, topK: 1, includeEmbedding: false, filter: undefined, matchFaces: false }), assertStatus(status.RESOURCE_EXHAUSTED));
    });

    it('answers NOT_FOUND for an unknown subject and INVALID_ARGUMENT for a missing id', async () => {
      await assert.rejects(call(server.client.deleteSubject, server.client, { subjectId: 'nobody' }), assertStatus(status.NOT_FOUND, /subject not found/));
      await assert.rejects(call(server.client.getSubject, server.client, { subjectId: '' }), assertStatus(status.INVALID_ARGUMENT, /subject_id is required/));
      await assert.rejects(call(server.client.deleteFace, server.client, { subjectId: '', faceId: 'f_nope' }), assertStatus(status.NOT_FOUND));
    });

    it('honours deadlines', async () => {
      await assert.rejects(
        call(server.client.recognize, server.client, { image: photo(5), topK: 1, includeEmbedding: false, filter: undefined, matchFaces: false }, new Metadata(), new Date(Date.now() + 5)),
        assertStatus(status.DEADLINE_EXCEEDED),
      );
    });

    it('keeps serving and loses nothing after every kind of bad input', async () => {
      await enrolGroup();
      for (const [, make] of cases) {
        await assert.rejects(call(server.client.recognize, server.client, { image: await make(), topK: 1, includeEmbedding: false, filter: undefined, matchFaces: false }));
      }
      const info = await call(server.client.getInfo, server.client, {});
      assert.equal(Number(info.faces), 3);
      assert.equal(Number(info.subjects), 3);
      const response = await call(server.client.recognize, server.client, { image: group, topK: 1, includeEmbedding: false, filter: undefined, matchFaces: false });
      assert.deepEqual(response.faces.map(matchedSubject).sort(), ['person-0', 'person-1', 'person-2']);
    });
  });

  it('deletes a subject so it is never matched again, also after a restart', async () => {
    await enrolGroup();
    const deleted = await call(server.client.deleteSubject, server.client, { subjectId: 'person-0' });
    assert.equal(deleted.deletedFaces, 1);
    const response = await call(server.client.recognize, server.client, { image: group, topK: 1, includeEmbedding: false, filter: undefined, matchFaces: false });
    assert.ok(!response.faces.some((f) => matchedSubject(f) === 'person-0'));
    assert.equal(response.faces.filter((f) => matchedSubject(f)).length, 2);

    const subject = await call(server.client.getSubject, server.client, { subjectId: 'person-1' });
    await call(server.client.deleteFace, server.client, { subjectId: 'person-1', faceId: subject.faceIds[0]! });

    await server.stop({ keepData: true });
    server = await startTestServer({}, server.dataDir);
    const after = await call(server.client.recognize, server.client, { image: group, topK: 1, includeEmbedding: false, filter: undefined, matchFaces: false });
    assert.deepEqual(after.faces.map(matchedSubject).filter(Boolean), ['person-2']);
  });
});
