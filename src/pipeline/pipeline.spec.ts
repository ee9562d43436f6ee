import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRegionItem, type ModelItem, type ModelRunner } from './session.js';
import { createFacePipeline, type StageName } from './pipeline.js';

/**
 * Fake models: the detector finds two faces (plus any `extra` ones, as [score,
 * x1, y1, x2, y2] in [0,1]); landmarks and embedder track how many items are in
 * flight at once, and how many they saw.
 */
function fakeRunners(extra: ReadonlyArray<readonly [number, number, number, number, number]> = []) {
  let inFlight = 0;
  let maxInFlight = 0;
  let items = 0;
  const track = async <T>(value: T): Promise<T> => {
    items++;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 5));
    inFlight--;
    return value;
  };
  const scores = new Float32Array(4420 * 2);
  const boxes = new Float32Array(4420 * 4);
  const face = (i: number, score: number, box: number[]) => {
    scores[2 * i + 1] = score;
    boxes.set(box, 4 * i);
  };
  face(0, 0.99, [0.1, 0.1, 0.4, 0.5]);
  face(1, 0.9, [0.6, 0.2, 0.9, 0.6]);
  face(2, 0.95, [0.11, 0.1, 0.41, 0.5]); // duplicate of face 0, removed by NMS
  face(3, 0.3, [0.5, 0.5, 0.6, 0.6]); // below the score threshold
  extra.forEach(([score, ...box], i) => face(4 + i, score, box));
  // 68 points spread over the crop so the 5 derived points are distinct.
  const landmarks = new Float32Array(136).map((_, i) => (i % 2 === 0 ? 0.2 + 0.6 * ((i / 2) % 17) / 16 : 0.2 + 0.6 * Math.floor(i / 2 / 17) / 3));
  const detector: ModelRunner = { name: 'detector', itemDims: [240, 320, 3], infer: async () => ({ scores, boxes }) };
  const landmarker: ModelRunner = { name: 'landmarks', itemDims: [64, 64, 1], infer: () => track({ landmarks }) };
  const embedder: ModelRunner = { name: 'embedder', itemDims: [112, 112, 3], infer: () => track({ embedding: new Float32Array(512).fill(2) }) };
  return { runners: { detector, landmarks: landmarker, embedder }, maxInFlight: () => maxInFlight, items: () => items };
}

const settings = { maxImagePixels: 1e6, detectScoreThreshold: 0.75, nmsIouThreshold: 0.4, minFaceSizePx: 20 };
const image = { data: Buffer.alloc(200 * 100 * 3, 128), width: 200, height: 100 };

test('thresholds, suppresses duplicates and scales boxes to image pixels', async () => {
  const { runners } = fakeRunners();
  const result = await createFacePipeline({ runners, settings }).analyzeImage(image);
  assert.equal(result.faces.length, 2);
  const first = result.faces[0]!;
  assert.deepEqual([first.box.x1, first.box.y1, first.box.x2, first.box.y2].map((v) => Math.round(v)), [20, 10, 80, 50]);
  assert.equal(first.embedding?.length, 512);
  assert.ok(Math.abs(first.embedding![0]! - 1 / Math.sqrt(512)) < 1e-6, 'L2-normalised');
});

test('runs the faces of one image concurrently, so a batcher can group them', async () => {
  const fake = fakeRunners();
  await createFacePipeline({ runners: fake.runners, settings }).analyzeImage(image);
  assert.ok(fake.maxInFlight() >= 2, `max in flight ${fake.maxInFlight()}`);
});

test('wraps every stage in the instrumentation hook', async () => {
  const { runners } = fakeRunners();
  const seen: StageName[] = [];
  const instrumentation = { stage: <T>(name: StageName, fn: () => Promise<T>) => (seen.push(name), fn()) };
  const png = await (await import('sharp')).default({ create: { width: 200, height: 100, channels: 3, background: '#888' } }).png().toBuffer();
  await createFacePipeline({ runners, settings, instrumentation }).analyze(png);
  assert.deepEqual([...new Set(seen)].sort(), ['align', 'decode', 'detect', 'embed', 'landmarks']);
  assert.equal(seen.filter((s) => s === 'embed').length, 2);
});

test('faces below minFaceSizePx keep their landmarks but are not embedded; embed: false skips all', async () => {
  const { runners } = fakeRunners();
  const big = await createFacePipeline({ runners, settings: { ...settings, minFaceSizePx: 50 } }).analyzeImage(image);
  assert.deepEqual(big.faces.map((f) => f.embedding !== undefined), [false, false]); // both boxes are 40 px tall
  assert.ok(big.faces.every((f) => f.landmarks.length === 5));
  const none = await createFacePipeline({ runners, settings }).analyzeImage(image, { embed: false });
  assert.ok(none.faces.every((f) => f.embedding === undefined));
});

test('maxFacesPerImage: only the largest faces get landmarks and embeddings, the rest keep box and score in score order', async () => {
  // A third face, lowest score but the largest box (30×100 px against 60×40), clear of the other two.
  const fake = fakeRunners([[0.8, 0.45, 0, 0.6, 1]]);
  const analyze = (maxFacesPerImage: number) =>
    createFacePipeline({ runners: fake.runners, settings: { ...settings, maxFacesPerImage } }).analyzeImage(image);

  const one = await analyze(1);
  assert.deepEqual(one.faces.map((f) => f.score.toFixed(2)), ['0.99', '0.90', '0.80'], 'every face is still reported, in detector score order');
  assert.deepEqual(one.faces.map((f) => f.embedding !== undefined), [false, false, true]);
  assert.deepEqual(one.faces.map((f) => f.landmarks.length), [0, 0, 5]);
  assert.equal(fake.items(), 2, 'one landmark run and one embedder run: the other faces cost no model work');

  // Equal boxes: the higher detector score wins the last place.
  const two = await analyze(2);
  assert.deepEqual(two.faces.map((f) => f.embedding !== undefined), [true, false, true]);

  const all = await analyze(3);
  assert.ok(all.faces.every((f) => f.embedding !== undefined && f.landmarks.length === 5));
});

test('flipAverage embeds each face and its mirror image together and returns their normalised mean', async () => {
  const fake = fakeRunners();
  let inFlight = 0;
  let maxInFlight = 0;
  const embedder: ModelRunner = {
    name: 'embedder',
    itemDims: [112, 112, 3],
    async infer(item) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      // Plain crops embed to the first axis, mirrored ones to the second: a mirror
      // image's warp is the only reflection (a matrix of negative determinant).
      assert.ok(isRegionItem(item) && item.theta, 'the embedder gets the region and its warp matrix');
      const theta = item.theta;
      const embedding = new Float32Array(512);
      embedding[theta[0]! * theta[3]! - theta[1]! * theta[2]! < 0 ? 1 : 0] = 3;
      return { embedding };
    },
  };
  const pipeline = createFacePipeline({ runners: { ...fake.runners, embedder }, settings });

  const flipped = await pipeline.analyzeImage(image, { flipAverage: true });
  assert.equal(flipped.faces.length, 2);
  for (const face of flipped.faces) {
    assert.ok(Math.abs(face.embedding![0]! - Math.SQRT1_2) < 1e-6 && Math.abs(face.embedding![1]! - Math.SQRT1_2) < 1e-6, `got ${face.embedding!.subarray(0, 2).join(', ')}`);
  }
  assert.ok(maxInFlight >= 4, `both crops of both faces reach the embedder together (max in flight ${maxInFlight})`);

  const plain = await pipeline.analyzeImage(image);
  assert.deepEqual(plain.faces.map((f) => [f.embedding![0], f.embedding![1]]), [[1, 0], [1, 0]]);
});

test('hands each model the pixels its input is made from: a small image whole, a face box, a face region and warp', async () => {
  const fake = fakeRunners();
  const seen = new Map<string, ModelItem[]>();
  const spy = (runner: ModelRunner): ModelRunner => ({
    ...runner,
    infer: (item, options) => (seen.set(runner.name, [...(seen.get(runner.name) ?? []), item]), runner.infer(item, options)),
  });
  const runners = { detector: spy(fake.runners.detector), landmarks: spy(fake.runners.landmarks), embedder: spy(fake.runners.embedder) };
  await createFacePipeline({ runners, settings }).analyzeImage(image);
  assert.deepEqual(seen.get('detector'), [{ region: image }]);
  const regions = (name: string) => (seen.get(name) ?? []).filter(isRegionItem);
  assert.equal(regions('landmarks').length, 2);
  assert.ok(regions('landmarks').every((item) => item.theta === undefined));
  assert.equal(regions('embedder').length, 2);
  assert.ok(regions('embedder').every((item) => item.theta instanceof Float32Array));
});

test('detectFrame runs the detector only; describeFaces then works on the chosen faces alone', async () => {
  const fake = fakeRunners();
  const pipeline = createFacePipeline({ runners: fake.runners, settings });
  // Twice the size of what the decoder may keep: boxes still come back in the sent image's pixels.
  const png = await (await import('sharp')).default({ create: { width: 400, height: 200, channels: 3, background: '#888' } }).png().toBuffer();
  const shrinking = createFacePipeline({ runners: fake.runners, settings: { ...settings, maxDecodedPixels: 200 * 100 } });
  const frame = await shrinking.detectFrame(png);
  assert.equal(fake.items(), 0, 'no landmark or embedder run');
  assert.deepEqual([frame.width, frame.height, frame.image.width], [400, 200, 200]);
  assert.deepEqual(frame.detections.map((d) => Math.round(d.box.x2)), [160, 360]);
  const [second] = await shrinking.describeFaces(frame, [1]);
  assert.equal(fake.items(), 2, 'one face: one landmark run and one embedder run');
  assert.deepEqual(second!.box, frame.detections[1]!.box);
  assert.equal(second!.embedding?.length, 512);
  assert.ok(second!.landmarks.every((p) => p.x >= 200), 'landmarks in the sent image\'s pixels');
  const analysed = await pipeline.analyze(png);
  assert.equal(analysed.faces.length, frame.detections.length);
});
