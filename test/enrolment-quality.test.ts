/**
 * The enrolment quality gate over a real server with the real models: a sharp,
 * frontal crop of a test photo is enrolled; its blurred and shrunk copies and
 * a really turned face are refused, each with its own code, in EnrollFace and
 * per item in BulkIngest; limits set to 0 let them all through.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import sharp from 'sharp';
import { FacePolicy, type Face, type IngestRequest } from '../src/gen/facerec/v1/facerec.js';
import { estimateYaw, faceSizePx, SHARPNESS_SIZE_PX } from '../src/pipeline/face-quality.js';
import { bulkIngest, call, startTestServer, type TestServer } from './support/facerec-server.js';
import { cropFace, photo, type PixelBox } from './support/images.js';

const yawOf = (face: Face) => Math.abs(estimateYaw(face.landmarks.map(({ x, y }) => ({ x, y })))!.yawDeg);

interface Degraded {
  /** Sharp, frontal, about 200 px: passes every default limit. */
  readonly good: Buffer;
  /** The good crop blurred with σ = 2 px at the 112 px scale sharpness is measured at. */
  readonly blurred: Buffer;
  /** The good crop shrunk so its face is about 28 px, on a grey canvas. */
  readonly small: Buffer;
  /** The most turned face of sample2 (a three-quarter view, about 48°). */
  readonly turned: Buffer;
}

/** Built from what the server's own Detect finds, so the crops follow the models. */
async function degradedCopies(server: TestServer): Promise<Degraded> {
  const detect = (image: Buffer) => call(server.client.detect, server.client, { image, includeEmbedding: false }).then((r) => r.faces);
  const group = photo(1);
  const frontal = (await detect(group)).sort((a, b) => yawOf(a) - yawOf(b))[0]!;
  const good = await cropFace(group, frontal.box as PixelBox);
  const [inCrop] = await detect(good);
  const side = faceSizePx(inCrop!.box as PixelBox);
  const blurred = await sharp(good).blur((2 * side) / SHARPNESS_SIZE_PX).jpeg({ quality: 92 }).toBuffer();
  const shrunkWidth = Math.round(((await sharp(good).metadata()).width! * 28) / side);
  const small = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#808080' } })
    .composite([{ input: await sharp(good).resize({ width: shrunkWidth }).toBuffer(), left: 120, top: 80 }])
    .jpeg({ quality: 92 })
    .toBuffer();
  const threeQuarter = photo(2);
  const mostTurned = (await detect(threeQuarter)).sort((a, b) => yawOf(b) - yawOf(a))[0]!;
  assert.ok(yawOf(mostTurned) > 45, `sample2's most turned face reads ${yawOf(mostTurned).toFixed(1)}°`);
  // A wide margin: the face's box is tall and narrow, and a tight crop of it leaves the detector too little head to find.
  return { good, blurred, small, turned: await cropFace(threeQuarter, mostTurned.box as PixelBox, 1.5) };
}

function enrol(server: TestServer, subjectId: string, image: Buffer) {
  return call(server.client.enrollFace, server.client, { subjectId, image, payload: undefined, facePolicy: FacePolicy.FACE_POLICY_UNSPECIFIED });
}

function refusedWith(code: string, details: RegExp) {
  return (error: ServiceError) => {
    assert.equal(error.code, status.INVALID_ARGUMENT, error.details);
    assert.equal(error.metadata.get('facerec-error-code')[0], code);
    assert.match(error.details, details);
    return true;
  };
}

describe('enrolment quality gate', () => {
  let server: TestServer;
  let images: Degraded;
  before(async () => {
    server = await startTestServer();
    images = await degradedCopies(server);
  });
  after(() => server.stop());

  it('enrols a sharp, frontal, large face', async () => {
    const enrolled = await enrol(server, 'good', images.good);
    assert.equal(enrolled.subjectId, 'good');
  });

  it('refuses a blurred copy with FACE_BLURRED, its score and the limit, and creates no subject', async () => {
    await assert.rejects(enrol(server, 'blurred', images.blurred), refusedWith('FACE_BLURRED', /face too blurred to enrol: face sharpness is 0\.\d\d, enrolment needs at least 0\.12/));
    await assert.rejects(call(server.client.getSubject, server.client, { subjectId: 'blurred' }), (error: ServiceError) => error.code === status.NOT_FOUND);
  });

  it('refuses a shrunk copy with FACE_TOO_SMALL, its size and the limit', async () => {
    await assert.rejects(enrol(server, 'small', images.small), refusedWith('FACE_TOO_SMALL', /face is [23]\d px, enrolment needs at least 40 px/));
  });

  it('refuses a three-quarter view with FACE_TURNED, its angle and the limit', async () => {
    await assert.rejects(enrol(server, 'turned', images.turned), refusedWith('FACE_TURNED', /face is turned about \d\d°, enrolment allows at most 40°/));
  });

  it('reports each refusal per item in BulkIngest and enrols the rest', async () => {
    const item = (subjectId: string, image: Buffer): IngestRequest => ({ subjectId, image, payload: {}, facePolicy: FacePolicy.FACE_POLICY_UNSPECIFIED });
    const summary = await bulkIngest(server, [item('bulk-blurred', images.blurred), item('bulk-good', images.good), item('bulk-small', images.small), item('bulk-turned', images.turned)]);
    assert.equal(summary.enrolled, 1);
    assert.equal(summary.failed, 3);
    assert.deepEqual(
      summary.errors.map((e) => [e.index, e.codeName]),
      [[0, 'INVALID_ARGUMENT'], [2, 'INVALID_ARGUMENT'], [3, 'INVALID_ARGUMENT']],
    );
    assert.match(summary.errors[0]!.message, /too blurred/);
    assert.match(summary.errors[1]!.message, /too small/);
    assert.match(summary.errors[2]!.message, /turned too far/);
  });
});

describe('enrolment quality gate turned off', () => {
  it('enrols blurred, small and turned faces when every limit is 0', async () => {
    const server = await startTestServer({ enrolment: { minFaceSizePx: 0, minSharpness: 0, maxYawDeg: 0 } });
    try {
      const images = await degradedCopies(server);
      for (const [subjectId, image] of [['blurred', images.blurred], ['small', images.small], ['turned', images.turned]] as const) {
        assert.equal((await enrol(server, subjectId, image)).subjectId, subjectId);
      }
    } finally {
      await server.stop();
    }
  });
});
