import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../store/test-vectors.js';
import { loadDescriptorRegistry } from './descriptor.js';
import { shortestFloat32, tidyJson } from './json-output.js';

const registry = loadDescriptorRegistry('envoy/descriptor.pb');
const message = (name: string) => {
  const found = registry.getMessage(name);
  assert.ok(found, name);
  return found;
};

describe('shortestFloat32', () => {
  it('prints a float32 as the decimal it was written as', () => {
    assert.equal(shortestFloat32(Math.fround(0.46)), 0.46);
    assert.equal(shortestFloat32(Math.fround(0.9999966621398926)), 0.99999666);
    assert.equal(shortestFloat32(Math.fround(-1)), -1);
    assert.equal(shortestFloat32(Math.fround(123.45)), 123.45);
    assert.equal(shortestFloat32(0), 0);
  });

  it('always reads back as the same float32, in at most 9 significant digits', () => {
    const random = seededRandom(3);
    for (let i = 0; i < 10_000; i++) {
      const single = Math.fround((random() - 0.5) * 10 ** Math.floor(random() * 12 - 6));
      const short = shortestFloat32(single);
      assert.equal(Math.fround(short), single);
      assert.ok(short.toExponential().split('e')[0]!.replace(/[-.]/g, '').length <= 9, `${short}`);
    }
  });

  it('leaves non-finite values alone', () => {
    assert.ok(Number.isNaN(shortestFloat32(Number.NaN)));
    assert.equal(shortestFloat32(Number.POSITIVE_INFINITY), Number.POSITIVE_INFINITY);
  });
});

describe('tidyJson', () => {
  const f = Math.fround;
  it('shortens every float field of a RecognizeResponse, however deep, and leaves the rest alone', () => {
    const json = {
      faces: [{
        box: { x1: f(10.1), y1: f(20.2), x2: f(110.3), y2: f(140.4) },
        score: f(0.99),
        landmarks: [{ x: f(40.1), y: f(60.2) }],
        matches: [{ subject_id: 'alice', face_id: 'f1', similarity: f(0.71), payload: { weight: 0.30000000000000004 } }],
        embedding: [f(0.1), f(-0.2)],
        embedded: true,
      }],
      payloads: [[{ weight: 0.30000000000000004 }]],
      boxes: [[10.5, 20, 110, 140]],
      image_width: 640,
      image_height: 480,
      threshold: f(0.46),
    };
    const tidy = tidyJson(message('facerec.v1.RecognizeResponse'), structuredClone(json)) as typeof json;
    const face = tidy.faces[0]!;
    assert.deepEqual(face.box, { x1: 10.1, y1: 20.2, x2: 110.3, y2: 140.4 });
    assert.equal(face.score, 0.99);
    assert.deepEqual(face.landmarks, [{ x: 40.1, y: 60.2 }]);
    assert.equal(face.matches[0]!.similarity, 0.71);
    assert.deepEqual(face.embedding, [0.1, -0.2]);
    assert.equal(tidy.threshold, 0.46);
    // Payloads are the client's own JSON (a Struct): never rounded.
    assert.equal(face.matches[0]!.payload.weight, 0.30000000000000004);
    assert.deepEqual(tidy.payloads, json.payloads);
    assert.equal(tidy.image_width, 640);
  });

  it('leaves out an empty embedding, keeps other empty lists', () => {
    const json = { faces: [{ box: null, score: 0, landmarks: [], matches: [], embedding: [], embedded: false }], payloads: [], boxes: [], image_width: 1, image_height: 1, threshold: 0 };
    const tidy = tidyJson(message('facerec.v1.RecognizeResponse'), json) as Record<string, unknown> & { faces: Array<Record<string, unknown>> };
    assert.ok(!('embedding' in tidy.faces[0]!));
    assert.deepEqual(tidy.faces[0]!.matches, []);
    assert.deepEqual(tidy.payloads, []);
  });
});
