import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { FacerecError } from '../errors.js';
import { resolveModelPaths } from '../models/manifest.js';
import { prepareLayout } from '../models/prepare.js';
import { InferencePool } from './inference-pool.js';
import { closePipelineSessions, MODEL_ITEM_DIMS, openPipelineSessions, type PipelineSessions } from './models.js';
import { inputMaker } from './image-ops.js';
import { runItems, type BatchOutputs, type InputBatch } from './session.js';
import type { RgbImage } from './types.js';

const photoPath = join(prepareLayout().photosDir, 'sample1.jpg');

async function rgb(width: number, height: number): Promise<RgbImage> {
  const { data, info } = await sharp(readFileSync(photoPath)).resize(width, height, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

function batchOf(image: RgbImage, count: number): InputBatch {
  const data = new Uint8Array(image.data.length * count);
  for (let i = 0; i < count; i++) data.set(image.data, i * image.data.length);
  return { data, dims: [count, image.height, image.width, 3] };
}

/** Largest difference between two runs' outputs: thread counts change float summation order, not results. */
function maxDifference(a: BatchOutputs, b: BatchOutputs): number {
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
  let max = 0;
  for (const [name, tensor] of Object.entries(a)) {
    assert.deepEqual(tensor.dims, b[name]!.dims);
    tensor.data.forEach((v, i) => (max = Math.max(max, Math.abs(v - b[name]!.data[i]!))));
  }
  return max;
}

/** The pool's threads, to end one as a crash would. */
function threadsOf(pool: InferencePool): Worker[] {
  return [...(pool as unknown as { all: Set<{ thread: Worker }> }).all].map((w) => w.thread);
}

describe('InferencePool', () => {
  let direct: PipelineSessions;
  let pooled: PipelineSessions;
  let detectorInput: InputBatch;
  let embedderInput: InputBatch;
  before(async () => {
    [direct, pooled] = await Promise.all([openPipelineSessions({ intraOpThreads: 1 }), openPipelineSessions({ workers: 2 })]);
    const [h, w] = MODEL_ITEM_DIMS.detector;
    detectorInput = batchOf(await rgb(w!, h!), 1);
    embedderInput = batchOf(await rgb(MODEL_ITEM_DIMS.embedder[1]!, MODEL_ITEM_DIMS.embedder[0]!), 4);
  });
  after(async () => {
    await Promise.all([closePipelineSessions(direct), closePipelineSessions(pooled)]);
  });

  it('gives the outputs of in-process sessions, for a run alone and for runs side by side', async () => {
    const expectedDetector = await direct.detector.run(detectorInput);
    const expectedEmbedder = await direct.embedder.run(embedderInput);
    // Alone: the run has the pool to itself, so it takes the solo sessions.
    assert.ok(maxDifference(await pooled.detector.run(detectorInput), expectedDetector) < 1e-4);
    // Side by side: both workers busy, one thread each.
    const together = await Promise.all([pooled.embedder.run(embedderInput), pooled.embedder.run(embedderInput), pooled.detector.run(detectorInput)]);
    assert.ok(maxDifference(together[0], expectedEmbedder) < 1e-4);
    assert.ok(maxDifference(together[1], expectedEmbedder) < 1e-4);
    assert.ok(maxDifference(together[2], expectedDetector) < 1e-4);
    assert.deepEqual(pooled.pool!.stats, { workers: 2, busy: 0, queued: 0 });
  });

  it('runs the image graphs byte for byte as in-process', async () => {
    const region = await rgb(180, 200);
    const theta = new Float32Array([1.2, 0.1, -0.1, 1.2, 20, 30]);
    assert.deepEqual(await pooled.imageOps.landmarkCrop(region), await direct.imageOps.landmarkCrop(region));
    assert.deepEqual(await pooled.imageOps.warp(region, theta), await direct.imageOps.warp(region, theta));
    const small = await rgb(250, 250);
    assert.deepEqual(await pooled.imageOps.detectorInput(small), await direct.imageOps.detectorInput(small));
  });

  it('makes region items into model inputs on the worker, as the in-process graphs and sessions do', async () => {
    const face = await rgb(180, 200);
    const theta = new Float32Array([1.2, 0.1, -0.1, 1.2, 20, 30]);
    const small = await rgb(250, 250);
    const cases = [
      { model: 'landmarks', items: [{ region: face }, { region: small }] },
      { model: 'embedder', items: [{ region: face, theta }, new Uint8Array(MODEL_ITEM_DIMS.embedder.reduce((a, b) => a * b, 1))] },
      { model: 'detector', items: [{ region: small }] },
    ] as const;
    for (const { model, items } of cases) {
      const local = await runItems(direct[model], items, inputMaker(direct.imageOps, model));
      assert.ok(maxDifference(await pooled[model].runItems!(items), local) < 1e-4, model);
    }
  });

  it('queues work past its workers and runs it in order', async () => {
    const runs = Array.from({ length: 7 }, () => pooled.embedder.run(embedderInput));
    assert.deepEqual(pooled.pool!.stats, { workers: 2, busy: 2, queued: 5 });
    const outputs = await Promise.all(runs);
    for (const out of outputs) assert.ok(maxDifference(out, outputs[0]!) < 1e-4);
  });

  it('fails a run ONNX Runtime refuses with MODEL_FAILED and carries on', async () => {
    const wrong = { data: new Uint8Array(10), dims: [1, 2, 5, 1] };
    await assert.rejects(pooled.embedder.run(wrong), (e: unknown) => e instanceof FacerecError && e.code === 'MODEL_FAILED');
    assert.ok(maxDifference(await pooled.embedder.run(embedderInput), await direct.embedder.run(embedderInput)) < 1e-4);
  });

  it('fails the job of a worker that dies with MODEL_FAILED and starts another in its place', async () => {
    const pool = pooled.pool!;
    // Both threads are ending (as a crash would end them) when the run is handed to one.
    const ended = threadsOf(pool).map((thread) => thread.terminate());
    await assert.rejects(pooled.embedder.run(embedderInput), (e: unknown) => e instanceof FacerecError && e.code === 'MODEL_FAILED');
    await Promise.all(ended);
    for (let i = 0; i < 200 && pool.stats.workers < 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(pool.stats.workers, 2);
    assert.ok(maxDifference(await pooled.embedder.run(embedderInput), await direct.embedder.run(embedderInput)) < 1e-4);
  });

  it('refuses to start on a model it cannot open, with MODEL_NOT_LOADED', async () => {
    const paths = resolveModelPaths();
    const model = { path: join(prepareLayout().photosDir, 'sample1.jpg'), itemDims: MODEL_ITEM_DIMS.detector };
    await assert.rejects(
      InferencePool.start({
        workers: 1,
        intraOpThreads: 1,
        models: { detector: model, landmarks: model, embedder: model },
        imageGraphs: { landmarkCrop: paths.landmarkCrop, faceWarp: paths.faceWarp, detectorInput: paths.detectorInput },
      }),
      (e: unknown) => e instanceof FacerecError && e.code === 'MODEL_NOT_LOADED',
    );
  });

  it('with every worker gone and none able to start, fails work with MODEL_NOT_LOADED instead of holding it, and recovers once models open again', async () => {
    const paths = resolveModelPaths();
    const dir = mkdtempSync(join(tmpdir(), 'facerec-pool-'));
    const embedderPath = join(dir, 'embedder.onnx');
    copyFileSync(paths.embedder, embedderPath);
    const model = (path: string, itemDims: readonly number[]) => ({ path, itemDims });
    const pool = await InferencePool.start({
      workers: 1,
      intraOpThreads: 1,
      models: { detector: model(paths.detector, MODEL_ITEM_DIMS.detector), landmarks: model(paths.landmarks, MODEL_ITEM_DIMS.landmarks), embedder: model(embedderPath, MODEL_ITEM_DIMS.embedder) },
      imageGraphs: { landmarkCrop: paths.landmarkCrop, faceWarp: paths.faceWarp, detectorInput: paths.detectorInput },
    });
    const isNotLoaded = (e: unknown) => e instanceof FacerecError && e.code === 'MODEL_NOT_LOADED';
    try {
      renameSync(embedderPath, `${embedderPath}.away`);
      await threadsOf(pool)[0]!.terminate();
      for (let i = 0; i < 200 && pool.stats.workers > 0; i++) await new Promise((r) => setTimeout(r, 10));
      await assert.rejects(pool.runModel('embedder', embedderInput), isNotLoaded);
      await assert.rejects(pool.runModel('embedder', embedderInput), isNotLoaded);
      renameSync(`${embedderPath}.away`, embedderPath);
      assert.ok(maxDifference(await pool.runModel('embedder', embedderInput), await direct.embedder.run(embedderInput)) < 1e-4);
    } finally {
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on close, fails what waits with SHUTTING_DOWN, finishes what runs, and refuses new work', async () => {
    const sessions = await openPipelineSessions({ workers: 1, intraOpThreads: 1 });
    const running = sessions.embedder.run(embedderInput);
    const waiting = sessions.embedder.run(embedderInput);
    const closed = closePipelineSessions(sessions);
    await assert.rejects(waiting, (e: unknown) => e instanceof FacerecError && e.code === 'SHUTTING_DOWN');
    assert.equal(Object.keys(await running).length > 0, true);
    await closed;
    await assert.rejects(sessions.embedder.run(embedderInput), (e: unknown) => e instanceof FacerecError && e.code === 'SHUTTING_DOWN');
  });
});
