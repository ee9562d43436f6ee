import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFacerecError } from '../errors.js';
import { FacePolicy } from '../gen/facerec/v1/facerec.js';
import type { DetectedFace } from '../pipeline/types.js';
import { chooseFace, DEFAULT_FACE_CHOICE } from './ingest.js';

/** A face with a side × side box at x; `embedded: false` is one too small to embed. */
function face(side: number, x = 0, embedded = true): DetectedFace {
  return { box: { x1: x, y1: 0, x2: x + side, y2: side }, score: 0.9, landmarks: [], embedding: embedded ? new Float32Array(512) : undefined };
}

const multiple = (error: unknown) => isFacerecError(error, 'MULTIPLE_FACES');

describe('chooseFace', () => {
  it('takes the only face under every policy', () => {
    const only = face(100);
    for (const policy of [FacePolicy.FACE_POLICY_UNSPECIFIED, FacePolicy.FACE_POLICY_REJECT, FacePolicy.FACE_POLICY_LARGEST, FacePolicy.FACE_POLICY_DOMINANT]) {
      assert.equal(chooseFace([only], policy), only);
    }
  });

  it('DOMINANT takes a portrait subject with someone small behind, and refuses two similar faces', () => {
    const subject = face(200);
    const background = face(100, 300); // a quarter of the area
    assert.equal(chooseFace([background, subject], FacePolicy.FACE_POLICY_DOMINANT), subject);
    // Exactly the ratio is enough; just under is not.
    assert.equal(chooseFace([subject, face(Math.sqrt(200 * 200 / 2), 300)], FacePolicy.FACE_POLICY_DOMINANT), subject);
    assert.throws(() => chooseFace([subject, face(150, 300)], FacePolicy.FACE_POLICY_DOMINANT), (e) => multiple(e) && /2 faces found and the largest/.test((e as Error).message));
  });

  it('UNSPECIFIED follows the configured default, DOMINANT unless changed', () => {
    const pair = [face(200), face(100, 300)];
    assert.equal(chooseFace(pair, FacePolicy.FACE_POLICY_UNSPECIFIED), pair[0]);
    assert.throws(() => chooseFace(pair, FacePolicy.FACE_POLICY_UNSPECIFIED, { ...DEFAULT_FACE_CHOICE, defaultPolicy: FacePolicy.FACE_POLICY_REJECT }), multiple);
    assert.throws(() => chooseFace(pair, FacePolicy.FACE_POLICY_DOMINANT, { ...DEFAULT_FACE_CHOICE, dominantAreaRatio: 5 }), multiple);
  });

  it('REJECT refuses any second embeddable face; LARGEST takes the largest', () => {
    const pair = [face(100), face(200, 300)];
    assert.throws(() => chooseFace(pair, FacePolicy.FACE_POLICY_REJECT), (e) => multiple(e) && /FACE_POLICY_DOMINANT/.test((e as Error).message));
    assert.equal(chooseFace(pair, FacePolicy.FACE_POLICY_LARGEST), pair[1]);
  });

  it('ignores faces too small to embed, and says when every face is', () => {
    const subject = face(100);
    assert.equal(chooseFace([subject, face(15, 300, false)], FacePolicy.FACE_POLICY_REJECT), subject);
    assert.throws(() => chooseFace([face(15, 0, false)], FacePolicy.FACE_POLICY_DOMINANT), (e) => isFacerecError(e, 'NO_FACE') && /below the minimum/.test((e as Error).message));
  });
});
