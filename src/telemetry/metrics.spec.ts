import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics, grpcCodeName, type FacerecMetrics } from './metrics.js';
import { startMetricsServer, type RunningMetricsServer } from './metrics-server.js';
import { METRIC } from './names.js';

/** The value of one sample in Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const wanted = Object.entries(labels);
    if (wanted.length === Object.keys(found).length && wanted.every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

describe('metrics over HTTP', () => {
  let metrics: FacerecMetrics;
  let server: RunningMetricsServer;
  const collectErrors: unknown[] = [];
  let gallery: { subjects: number; faces: number } | Error = { subjects: 3, faces: 10 };
  let depth = 7;

  before(async () => {
    metrics = createMetrics({ onCollectError: (e) => collectErrors.push(e) });
    server = await startMetricsServer({ host: '127.0.0.1', port: 0, metrics });
  });
  after(() => server.close());

  const scrape = async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  it('serves the recorded values, and counters move between scrapes', async () => {
    metrics.watchQueueDepth('detector', () => depth);
    metrics.watchInferencePool(() => ({ workers: 2, busy: 1, queued: 3 }));
    metrics.setGallerySizeSource(() => (gallery instanceof Error ? Promise.reject(gallery) : gallery));
    metrics.recordRpc('Recognize', 0, 40);
    metrics.recordRpc('Recognize', 'OK', 60);
    metrics.recordRpc('Verify', 3, 5);
    metrics.recordBatch('embedder', { size: 4, queueWaitMs: [1, 2, 3, 4], runMs: 20 });
    metrics.addFacesDetected(5);
    metrics.streamOpened();
    metrics.streamOpened();
    metrics.streamClosed();

    const first = await scrape();
    assert.equal(sample(first, METRIC.rpcRequests, { method: 'Recognize', code: 'OK' }), 2);
    assert.equal(sample(first, METRIC.rpcRequests, { method: 'Verify', code: 'INVALID_ARGUMENT' }), 1);
    assert.equal(sample(first, `${METRIC.rpcDuration}_count`, { method: 'Recognize', code: 'OK' }), 2);
    assert.ok(Math.abs(sample(first, `${METRIC.rpcDuration}_sum`, { method: 'Recognize', code: 'OK' })! - 0.1) < 1e-9);
    assert.equal(sample(first, `${METRIC.rpcDuration}_bucket`, { method: 'Recognize', code: 'OK', le: '0.05' }), 1);
    assert.equal(sample(first, `${METRIC.batchSize}_sum`, { model: 'embedder' }), 4);
    assert.equal(sample(first, `${METRIC.batchSize}_count`, { model: 'embedder' }), 1);
    assert.equal(sample(first, `${METRIC.batchQueueWait}_count`, { model: 'embedder' }), 4);
    assert.ok(Math.abs(sample(first, `${METRIC.batchQueueWait}_sum`, { model: 'embedder' })! - 0.01) < 1e-9);
    assert.equal(sample(first, `${METRIC.inferenceDuration}_sum`, { model: 'embedder' }), 0.02);
    assert.equal(sample(first, METRIC.queueDepth, { model: 'detector' }), 7);
    assert.equal(sample(first, METRIC.facesDetected), 5);
    assert.equal(sample(first, METRIC.gallerySubjects), 3);
    assert.equal(sample(first, METRIC.galleryFaces), 10);
    assert.equal(sample(first, METRIC.activeStreams), 1);
    assert.deepEqual([METRIC.inferenceWorkers, METRIC.inferenceWorkersBusy, METRIC.inferenceJobsQueued].map((name) => sample(first, name)), [2, 1, 3]);
    const utilization = sample(first, METRIC.eventLoopUtilization)!;
    assert.ok(utilization >= 0 && utilization <= 1, `event loop utilization ${utilization}`);
    assert.ok(sample(first, 'process_cpu_user_seconds_total') !== undefined, 'Node process metrics');
    assert.ok(first.includes('nodejs_eventloop_lag_seconds'));

    metrics.recordRpc('Recognize', 0, 10);
    metrics.recordBatch('embedder', { size: 2, queueWaitMs: [0, 0], runMs: 8 });
    metrics.addFacesDetected(0);
    metrics.addFacesDetected(2);
    depth = 0;
    gallery = { subjects: 4, faces: 12 };
    const second = await scrape();
    assert.equal(sample(second, METRIC.rpcRequests, { method: 'Recognize', code: 'OK' }), 3);
    assert.equal(sample(second, `${METRIC.batchSize}_count`, { model: 'embedder' }), 2);
    assert.equal(sample(second, `${METRIC.batchSize}_sum`, { model: 'embedder' }), 6);
    assert.equal(sample(second, METRIC.facesDetected), 7);
    assert.equal(sample(second, METRIC.queueDepth, { model: 'detector' }), 0);
    assert.equal(sample(second, METRIC.gallerySubjects), 4);
    assert.equal(sample(second, METRIC.galleryFaces), 12);
  });

  it('keeps the last gallery size and reports the error when the store fails', async () => {
    gallery = new Error('store closed');
    const text = await scrape();
    assert.equal(sample(text, METRIC.gallerySubjects), 4);
    assert.equal(collectErrors.length, 1);
  });

  it('answers 404 off /metrics', async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/`);
    assert.equal(res.status, 404);
    await res.arrayBuffer();
  });
});

describe('createMetrics', () => {
  it('uses its own registry, so instances do not collide or share values', async () => {
    const a = createMetrics({ processMetrics: false });
    const b = createMetrics({ processMetrics: false });
    a.addFacesDetected(3);
    assert.equal(sample(await a.scrape(), METRIC.facesDetected), 3);
    assert.equal(sample(await b.scrape(), METRIC.facesDetected), 0);
    assert.equal(sample(await b.scrape(), 'process_cpu_user_seconds_total'), undefined);
  });
  it('exposes exactly the metrics names.ts lists, Prometheus-valid and with their unit', async () => {
    const text = await createMetrics({ processMetrics: false }).scrape();
    const exposed = [...text.matchAll(/^# TYPE (\S+) \w+$/gm)].map((m) => m[1]!);
    assert.deepEqual([...exposed].sort(), Object.values(METRIC).sort());
    for (const name of exposed) {
      assert.match(name, /^facerec_[a-z_]+$/);
      if (name.includes('duration') || name.includes('wait')) assert.match(name, /_seconds$/);
    }
  });
  it('names gRPC codes as status.proto does', () => {
    assert.equal(grpcCodeName(0), 'OK');
    assert.equal(grpcCodeName(8), 'RESOURCE_EXHAUSTED');
    assert.equal(grpcCodeName(16), 'UNAUTHENTICATED');
    assert.equal(grpcCodeName('UNAVAILABLE'), 'UNAVAILABLE');
  });
});
