import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type * as GrpcJs from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../../test/support/otlp-receiver.js';
import { resolveTracingSettings, startTracing, type TracingHandle } from './tracing.js';
import { captureContext, createPipelineInstrumentation, getFacerecTracer, recordBatchSpan, withSpan } from './spans.js';
import { ATTR, SPAN } from './names.js';

describe('resolveTracingSettings', () => {
  it('is off without an endpoint or exporter', () => {
    const s = resolveTracingSettings({});
    assert.equal(s.enabled, false);
    assert.equal(s.serviceName, 'facerec');
  });
  it('turns on with OTEL_EXPORTER_OTLP_ENDPOINT, traces endpoint first', () => {
    assert.equal(resolveTracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317' }).endpoint, 'http://c:4317');
    const s = resolveTracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:4317' });
    assert.deepEqual([s.enabled, s.exporter, s.endpoint], [true, 'otlp', 'http://t:4317']);
  });
  it('follows OTEL_TRACES_EXPORTER, OTEL_SDK_DISABLED and OTEL_SERVICE_NAME', () => {
    assert.equal(resolveTracingSettings({ OTEL_TRACES_EXPORTER: 'otlp' }).endpoint, 'http://localhost:4317');
    assert.equal(resolveTracingSettings({ OTEL_TRACES_EXPORTER: 'console' }).exporter, 'console');
    assert.equal(resolveTracingSettings({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317' }).enabled, false);
    assert.equal(resolveTracingSettings({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317' }).enabled, false);
    assert.equal(resolveTracingSettings({ OTEL_SERVICE_NAME: 'edge-facerec' }).serviceName, 'edge-facerec');
  });
});

describe('tracing through a real OTLP/gRPC receiver', () => {
  let receiver: OtlpReceiver;
  let handle: TracingHandle;

  before(async () => {
    receiver = await startOtlpReceiver();
    handle = startTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint }, serviceVersion: '9.9.9', exportImmediately: true });
  });
  after(async () => {
    await handle.shutdown();
    await receiver.close();
  });

  const byName = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);
  const one = (spans: ReceivedSpan[], name: string): ReceivedSpan => {
    const found = byName(spans, name);
    assert.equal(found.length, 1, `expected one ${name} span, got ${found.length}`);
    return found[0]!;
  };

  it('exports stage spans as children of the request span, with errors recorded', async () => {
    receiver.clear();
    const tracer = getFacerecTracer();
    const pipeline = createPipelineInstrumentation(tracer);
    await withSpan(tracer, 'request', async () => {
      await pipeline.stage('decode', async () => 'pixels', { before: { imageBytes: 1234 }, after: () => ({ imageWidth: 640, imageHeight: 480 }) });
      await pipeline.stage('detect', async () => {
        await pipeline.stage('landmarks', async () => undefined);
        return [1, 2];
      }, { before: { model: 'detector' }, after: (found) => ({ faces: found.length }) });
      await assert.rejects(pipeline.stage('embed', async () => { throw Object.assign(new Error('ort failed'), { code: 'MODEL_RUN_FAILED' }); }, { before: { model: 'embedder' } }), /ort failed/);
    });
    await handle.forceFlush();
    const spans = await receiver.waitForSpans((all) => all.some((s) => s.name === 'request'));
    const request = one(spans, 'request');
    const [decode, detect, landmarks, embed] = [SPAN.decode, SPAN.detect, SPAN.landmarks, SPAN.embed].map((n) => one(spans, n));
    assert.equal(request.parentSpanId, '');
    for (const child of [decode, detect, embed]) {
      assert.equal(child!.traceId, request.traceId);
      assert.equal(child!.parentSpanId, request.spanId);
    }
    assert.equal(landmarks!.parentSpanId, detect!.spanId);
    assert.deepEqual(
      [decode!.attributes[ATTR.imageBytes], decode!.attributes[ATTR.imageWidth], decode!.attributes[ATTR.imageHeight]],
      [1234, 640, 480],
    );
    assert.equal(detect!.attributes[ATTR.facesCount], 2);
    assert.equal(detect!.attributes[ATTR.modelName], 'detector');
    // Facts known before the stage ran are kept when it fails.
    assert.equal(embed!.attributes[ATTR.modelName], 'embedder');
    assert.equal(embed!.status.code, 'STATUS_CODE_ERROR');
    assert.equal(embed!.status.message, 'ort failed');
    assert.equal(embed!.attributes[ATTR.errorCode], 'MODEL_RUN_FAILED');
    assert.ok(embed!.events.some((e) => e.name === 'exception' && e.attributes['exception.message'] === 'ort failed'));
    assert.equal(request.resource['service.name'], 'facerec');
    assert.equal(request.resource['service.version'], '9.9.9');
  });

  it('records a batch.run span linked to each request it served, and a batch.wait under each request', async () => {
    receiver.clear();
    const tracer = getFacerecTracer();
    const contexts = await Promise.all(['req-a', 'req-b', 'req-c'].map((name) => withSpan(tracer, name, () => captureContext())));
    const runContext = recordBatchSpan(tracer, { model: 'embedder', size: 3, queueWaitMs: [4, 2.5, 0], runMs: 12, contexts });
    await handle.forceFlush();
    const spans = await receiver.waitForSpans((all) => byName(all, SPAN.batchWait).length === 3 && byName(all, SPAN.batchRun).length === 1);
    const run = one(spans, SPAN.batchRun);
    const requests = ['req-a', 'req-b', 'req-c'].map((n) => one(spans, n));
    assert.equal(run.spanId, runContext.spanId);
    assert.equal(run.parentSpanId, '');
    assert.deepEqual(run.links.map((l) => `${l.traceId}/${l.spanId}`), requests.map((r) => `${r.traceId}/${r.spanId}`));
    assert.equal(run.attributes[ATTR.modelName], 'embedder');
    assert.equal(run.attributes[ATTR.batchSize], 3);
    assert.deepEqual(run.attributes[ATTR.batchQueueWaitMs], [4, 2.5, 0]);
    assert.equal(run.attributes[ATTR.batchQueueWaitMaxMs], 4);
    assert.equal(run.endTimeUnixNano - run.startTimeUnixNano, 12_000_000n);
    for (const [i, request] of requests.entries()) {
      const wait = byName(spans, SPAN.batchWait).find((w) => w.parentSpanId === request.spanId);
      assert.ok(wait, `batch.wait under ${request.name}`);
      assert.equal(wait.traceId, request.traceId);
      assert.deepEqual(wait.links.map((l) => l.spanId), [run.spanId]);
      assert.equal(wait.attributes[ATTR.batchQueueWaitMs], [4, 2.5, 0][i]);
      assert.equal(wait.endTimeUnixNano, run.startTimeUnixNano);
    }
  });

  it('continues a W3C trace across gRPC and nests handler spans under the server span', async () => {
    receiver.clear();
    // Loaded via require after startTracing, the way register.ts does it.
    const grpc = createRequire(import.meta.url)('@grpc/grpc-js') as typeof GrpcJs;
    const protoDir = new URL('../../test/support/otlp/', import.meta.url).pathname;
    const loaded = grpc.loadPackageDefinition(loadSync('trace_service.proto', { includeDirs: [protoDir] })) as any;
    const Service = loaded.opentelemetry.proto.collector.trace.v1.TraceService;
    const tracer = getFacerecTracer();
    const server = new grpc.Server();
    server.addService(Service.service, {
      Export: (_call: unknown, callback: GrpcJs.sendUnaryData<unknown>) => {
        void withSpan(tracer, SPAN.storeSearch, () => undefined).then(() => callback(null, {}));
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    const client = new Service(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const caller = trace.setSpanContext(context.active(), { traceId, spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED, isRemote: true });
    await context.with(caller, () => new Promise((resolve, reject) => client.Export({}, (e: Error | null) => (e ? reject(e) : resolve(undefined)))));
    client.close();
    server.forceShutdown();
    await handle.forceFlush();
    const spans = await receiver.waitForSpans((all) => all.some((s) => s.name === SPAN.storeSearch));
    const method = 'grpc.opentelemetry.proto.collector.trace.v1.TraceService/Export';
    const serverSpan = spans.find((s) => s.name === method && s.kind === 'SPAN_KIND_SERVER');
    const clientSpan = spans.find((s) => s.name === method && s.kind === 'SPAN_KIND_CLIENT');
    assert.ok(serverSpan && clientSpan, `server and client spans, got ${spans.map((s) => `${s.name}:${s.kind}`)}`);
    assert.equal(clientSpan.traceId, traceId);
    assert.equal(clientSpan.parentSpanId, 'b7ad6b7169203331');
    assert.equal(serverSpan.traceId, traceId);
    assert.equal(serverSpan.parentSpanId, clientSpan.spanId);
    const search = one(spans, SPAN.storeSearch);
    assert.equal(search.parentSpanId, serverSpan.spanId);
  });
});

describe('tracing with the collector down', () => {
  it('still flushes and shuts down, reporting the export error instead of throwing', async () => {
    const gone = await startOtlpReceiver();
    await gone.close();
    const errors: unknown[] = [];
    const handle = startTracing({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: gone.endpoint },
      exportImmediately: true,
      exportTimeoutMs: 300,
      onExportError: (e) => errors.push(e),
    });
    await withSpan(getFacerecTracer(), 'lost', () => undefined);
    await handle.forceFlush();
    await handle.shutdown();
    assert.ok(errors.length >= 1, 'export error reported');
  });
});
