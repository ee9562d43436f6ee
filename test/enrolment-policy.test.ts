/** Which face an enrolment takes, and how it is embedded, over a real server with the real models. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import sharp from 'sharp';
import { FacePolicy, type Face } from '../src/gen/facerec/v1/facerec.js';
import { call, startTestServer, type TestServer } from './support/facerec-server.js';
import { cropFace, photo, type PixelBox } from './support/images.js';

describe('enrolment face policy', () => {
  let server: TestServer;
  const group = photo(1); // three people, faces of similar size
  let portrait: Buffer; // one person large, another small behind
  before(async () => {
    server = await startTestServer();
    const faces: Face[] = (await call(server.client.detect, server.client, { image: group, includeEmbedding: false })).faces;
    const [subject, passerBy] = await Promise.all(faces.slice(0, 2).map((face) => cropFace(group, face.box as PixelBox)));
    portrait = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#808080' } })
      .composite([
        { input: await sharp(subject).resize({ width: 420 }).toBuffer(), left: 40, top: 40 },
        { input: await sharp(passerBy).resize({ width: 140 }).toBuffer(), left: 620, top: 60 },
      ])
      .jpeg({ quality: 90 })
      .toBuffer();
  });
  after(() => server.stop());

  const enrol = (subjectId: string, image: Buffer, facePolicy: FacePolicy) =>
    call(server.client.enrollFace, server.client, { subjectId, image, payload: undefined, facePolicy });

  it('enrols the subject of a portrait with someone small in the background by default', async () => {
    const detected = await call(server.client.detect, server.client, { image: portrait, includeEmbedding: false });
    assert.equal(detected.faces.length, 2);
    const enrolled = await enrol('portrait-subject', portrait, FacePolicy.FACE_POLICY_UNSPECIFIED);
    assert.ok(enrolled.face!.box!.x2 < 500, 'the large face on the left was taken');
  });

  it('refuses a group photo by default and says how many faces it found', async () => {
    await assert.rejects(enrol('group', group, FacePolicy.FACE_POLICY_UNSPECIFIED), (error: ServiceError) => {
      assert.equal(error.code, status.INVALID_ARGUMENT);
      assert.match(error.details, /3 faces found/);
      return true;
    });
  });

  it('keeps REJECT strict and LARGEST permissive', async () => {
    await assert.rejects(enrol('strict', portrait, FacePolicy.FACE_POLICY_REJECT), (error: ServiceError) => /2 faces found/.test(error.details));
    const largest = await enrol('largest', group, FacePolicy.FACE_POLICY_LARGEST);
    assert.equal(largest.subjectId, 'largest');
  });
});

describe('flip-averaged embeddings', () => {
  /** Enrols the crop, then recognises the very same bytes: the similarity shows whether both sides were embedded alike. */
  async function enrolAndRecognise(server: TestServer, image: Buffer) {
    await call(server.client.enrollFace, server.client, { subjectId: 'flip', image, payload: undefined, facePolicy: FacePolicy.FACE_POLICY_UNSPECIFIED });
    const response = await call(server.client.recognize, server.client, { image, topK: 1, includeEmbedding: true, filter: undefined, matchFaces: false });
    assert.equal(response.faces.length, 1);
    const face = response.faces[0]!;
    return { similarity: face.matches[0]!.similarity, probe: Float32Array.from(face.embedding) };
  }

  it('enrols flip-averaged by default and averages probes only when asked', async () => {
    const group = photo(1);
    const plain = await startTestServer();
    let image: Buffer;
    let byDefault: Awaited<ReturnType<typeof enrolAndRecognise>>;
    try {
      const faces = (await call(plain.client.detect, plain.client, { image: group, includeEmbedding: false })).faces;
      image = await cropFace(group, faces[0]!.box as PixelBox);
      byDefault = await enrolAndRecognise(plain, image);
    } finally {
      await plain.stop();
    }
    // The gallery holds the average, the probe is plain: close, but not the same vector.
    assert.ok(byDefault.similarity >= 0.97 && byDefault.similarity < 0.999, `default: similarity ${byDefault.similarity}`);

    const flipped = await startTestServer({ pipeline: { flipAverageProbes: true } });
    try {
      const both = await enrolAndRecognise(flipped, image);
      assert.ok(both.similarity > 0.9999, `probes averaged too: similarity ${both.similarity}`);
      const probeShift = both.probe.reduce((sum, v, i) => sum + v * byDefault.probe[i]!, 0);
      assert.ok(probeShift < 0.999, `the probe embedding itself changed: cosine ${probeShift}`);
    } finally {
      await flipped.stop();
    }
  });
});
