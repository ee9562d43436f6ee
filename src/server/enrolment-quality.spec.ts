import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { isFacerecError, type ErrorCode } from '../errors.js';
import type { DetectedFace, Point } from '../pipeline/types.js';
import { checkEnrolmentQuality, type EnrolmentQualitySettings } from './enrolment-quality.js';

const LIMITS: EnrolmentQualitySettings = { minFaceSizePx: 40, minSharpness: 0.12, maxYawDeg: 40 };
const OFF: EnrolmentQualitySettings = { minFaceSizePx: 0, minSharpness: 0, maxYawDeg: 0 };

/** A side × side face at (10, 10) whose nose sits `noseShift` inter-eye distances right of the midline. */
function face(side: number, noseShift = 0): DetectedFace {
  const at = (fx: number, fy: number): Point => ({ x: 10 + fx * side, y: 10 + fy * side });
  const eye = 0.4; // inter-eye distance as a fraction of the side
  const landmarks = [at(0.3, 0.4), at(0.7, 0.4), at(0.5 + noseShift * eye, 0.6), at(0.35, 0.8), at(0.65, 0.8)];
  return { box: { x1: 10, y1: 10, x2: 10 + side, y2: 10 + side }, score: 0.9, landmarks, embedding: new Float32Array(512) };
}

/** Bytes that are no image: a check that gets as far as decoding fails on them. */
const NOT_AN_IMAGE = { bytes: Buffer.from('not an image'), width: 200, height: 200 };

/** A light square on a dark 200 × 200 ground (sharp edges), and a Gaussian-blurred copy. */
async function images() {
  const light = { create: { width: 80, height: 80, channels: 3, background: '#e0e0e0' } } as const;
  const sharpImage = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#202020' } }).composite([{ input: light, left: 60, top: 60 }]).png().toBuffer();
  return { sharpImage, blurred: await sharp(sharpImage).blur(3).png().toBuffer() };
}

async function refusal(promise: Promise<void>, code: ErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error) => {
    assert.ok(isFacerecError(error, code), `expected ${code}, got ${String(error)}`);
    assert.equal(error.status, 'INVALID_ARGUMENT');
    assert.match(error.message, message);
    return true;
  });
}

describe('checkEnrolmentQuality', () => {
  it('refuses a small face with its size and the limit, before decoding anything', async () => {
    await refusal(checkEnrolmentQuality(NOT_AN_IMAGE, face(38.6), LIMITS), 'FACE_TOO_SMALL', /face is 38 px, enrolment needs at least 40 px/);
  });

  it('refuses a turned face with its angle and the limit, before decoding anything', async () => {
    // 0.5 inter-eye distances off the midline: about 48° on the mean head.
    await refusal(checkEnrolmentQuality(NOT_AN_IMAGE, face(150, 0.5), LIMITS), 'FACE_TURNED', /turned about 4\d°, enrolment allows at most 40°/);
    await refusal(checkEnrolmentQuality(NOT_AN_IMAGE, face(150, -0.5), LIMITS), 'FACE_TURNED', /at most 40°/);
  });

  it('refuses a blurred face with its score and the limit, and passes the sharp one', async () => {
    const { sharpImage, blurred } = await images();
    await checkEnrolmentQuality({ bytes: sharpImage, width: 200, height: 200 }, face(150, 0.1), LIMITS);
    await refusal(checkEnrolmentQuality({ bytes: blurred, width: 200, height: 200 }, face(150), LIMITS), 'FACE_BLURRED', /sharpness is 0\.\d\d, enrolment needs at least 0\.12/);
  });

  it('skips each check set to 0', async () => {
    const { blurred } = await images();
    await checkEnrolmentQuality(NOT_AN_IMAGE, face(25, 0.8), OFF);
    await checkEnrolmentQuality({ bytes: blurred, width: 200, height: 200 }, face(150), { ...LIMITS, minSharpness: 0 });
    await checkEnrolmentQuality(NOT_AN_IMAGE, face(25), { ...OFF, maxYawDeg: 40 });
    await checkEnrolmentQuality(NOT_AN_IMAGE, face(150, 0.8), { ...OFF, minFaceSizePx: 40 });
  });
});
