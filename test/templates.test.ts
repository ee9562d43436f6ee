/** Recognition by subject template over a real server: the default, and face-level matching on request. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { FacePolicy, type Face } from '../src/gen/facerec/v1/facerec.js';
import { call, startTestServer, type TestServer } from './support/facerec-server.js';
import { cropFace, photo, type PixelBox } from './support/images.js';

describe('subject templates in Recognize', () => {
  let server: TestServer;
  let probe: Buffer;
  before(async () => {
    server = await startTestServer();
    const group = photo(1);
    const faces: Face[] = (await call(server.client.detect, server.client, { image: group, includeEmbedding: false })).faces;
    const crops = await Promise.all(faces.map((face) => cropFace(group, face.box as PixelBox)));
    // Two enrolments of one person (a crop and a mirrored, smaller copy), one of another.
    const mirrored = await sharp(crops[0]!).flop().resize({ width: 160 }).jpeg({ quality: 85 }).toBuffer();
    for (const [subjectId, image] of [['ann', crops[0]!], ['ann', mirrored], ['ben', crops[1]!]] as const) {
      await call(server.client.enrollFace, server.client, { subjectId, image, payload: undefined, facePolicy: FacePolicy.FACE_POLICY_UNSPECIFIED });
    }
    probe = await sharp(crops[0]!).resize({ width: 200 }).jpeg({ quality: 70 }).toBuffer();
  });
  after(() => server.stop());

  const recognize = (matchFaces: boolean) =>
    call(server.client.recognize, server.client, { image: probe, topK: 3, minSimilarity: -1, includeEmbedding: false, filter: undefined, matchFaces });

  it('ranks subjects by template by default: each subject once, top_k counting subjects', async () => {
    const [face] = (await recognize(false)).faces;
    const subjects = face!.matches.map((m) => m.subjectId);
    assert.deepEqual(subjects, ['ann', 'ben']);
    const ann = (await call(server.client.getSubject, server.client, { subjectId: 'ann' })).faceIds;
    assert.ok(ann.includes(face!.matches[0]!.faceId), "the match names one of the subject's faces");
  });

  it('matches every enrolled face with match_faces, so a subject can appear once per face', async () => {
    const [byTemplate] = (await recognize(false)).faces;
    const [byFace] = (await recognize(true)).faces;
    assert.deepEqual(byFace!.matches.map((m) => m.subjectId), ['ann', 'ann', 'ben']);
    const annFaces = byFace!.matches.filter((m) => m.subjectId === 'ann').map((m) => m.similarity);
    const annTemplate = byTemplate!.matches[0]!.similarity;
    // The template lies between the two photos: never below the weaker face match.
    assert.ok(annTemplate >= Math.min(...annFaces) - 1e-4, `template ${annTemplate} vs faces ${annFaces}`);
    assert.equal(byFace!.matches[0]!.faceId, byTemplate!.matches[0]!.faceId, 'the closest face is the one named');
  });
});
