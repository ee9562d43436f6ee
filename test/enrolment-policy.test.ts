/** Which face an enrolment takes, over a real server with the real models. */
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
