/**
 * Observability end to end, against the real server (real models, real
 * embedded store):
 *
 * - Tracing: the server runs in a child process that starts tracing the way
 *   the product does (src/telemetry/register.ts before grpc-js loads, OTEL_*
 *   variables) and exports over OTLP/gRPC to a real receiver on loopback. A
 *   Recognize that carries a W3C `traceparent` must continue that trace, with
 *   the pipeline's stage spans under the server span and the batched model
 *   runs linked to them.
 * - Metrics: the server's own /metrics endpoint, scraped before and after a
 *   few calls; the counters and histograms must have moved by what the calls
 *   did.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { FacePolicy, FaceRecognitionClient, FramePolicy, type IngestSummary, type RecognizeResponse } from '../src/gen/facerec/v1/facerec.js';
import type { DeepPartial } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';
import { packageRoot } from '../src/package-root.js';
import { ATTR, METRIC, SPAN } from '../src/telemetry/names.js';
import { call, startTestServer, type TestServer } from './support/facerec-server.js';
import { photo } from './support/images.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';

const MODELS = ['detector', 'landmarks', 'embedder'] as const;

function assertStatus(code: status) {
  return (error: unknown) => {
    const e = error as ServiceError;
    assert.equal(e.code, code, `expected ${status[code]}, got ${status[e.code]}: ${e.details}`);
    return true;
  };
}

function traceparent(traceId: string, spanId: string): Metadata {
  const metadata = new Metadata();
  metadata.set('traceparent', `00-${traceId}-${spanId}-01`);
  return metadata;
}

// ---------------------------------------------------------------------------
// Tracing
// ---------------------------------------------------------------------------

type TracedChild = ChildProcessByStdio<Writable, Readable, null>;

const FIXTURE = fileURLToPath(new URL('./fixtures/traced-server.ts', import.meta.url));
const SERVICE_NAME = 'facerec-observability-test';

/** Starts test/fixtures/traced-server.ts exporting to `endpoint`; resolves with its gRPC port. */
async function startTracedServer(endpoint: string, overrides: DeepPartial<Config> = {}): Promise<{ child: TracedChild; grpcPort: number }> {
  // Only the OTEL_* variables this test means; none leaking in from the shell.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('OTEL_')));
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, JSON.stringify(overrides)], {
    cwd: packageRoot(),
    stdio: ['pipe', 'pipe', 'inherit'],
    env: {
      ...env,
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_SERVICE_NAME: SERVICE_NAME,
      // register.ts uses the batching processor; export often so the test waits little.
      OTEL_BSP_SCHEDULE_DELAY: '50',
    },
  });
  try {
    const grpcPort = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('traced server did not start within 90 s')), 90_000);
      const lines = createInterface({ input: child.stdout });
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        clearTimeout(timer);
        reject(new Error(`traced server exited before serving (code ${code}, signal ${signal})`));
      };
      child.once('exit', onExit);
      lines.once('line', (line) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        try {
          resolve((JSON.parse(line) as { grpcPort: number }).grpcPort);
        } catch {
          reject(new Error(`traced server printed ${JSON.stringify(line)}, not its port`));
        }
      });
    });
    return { child, grpcPort };
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}

/** Ends the child's stdin (it then stops cleanly); SIGKILLs it if it has not exited after graceMs. */
async function stopChild(child: TracedChild, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin.end();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), graceMs); }),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
}

const byName = (spans: readonly ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);

/** Every span of facerec's own tracer is one names.ts lists, and so is every facerec.* attribute on any span. */
function assertListedNames(spans: readonly ReceivedSpan[]): void {
  const spanNames = new Set<string>(Object.values(SPAN));
  const attrNames = new Set<string>(Object.values(ATTR));
  for (const span of spans) {
    if (span.scope === 'facerec') assert.ok(spanNames.has(span.name), `${span.name} is listed in SPAN`);
    for (const key of Object.keys(span.attributes)) {
      if (key.startsWith('facerec.')) assert.ok(attrNames.has(key), `${key} (on ${span.name}) is listed in ATTR`);
    }
  }
}
const RECOGNIZE_SPAN = 'grpc.facerec.v1.FaceRecognition/Recognize';
const isRecognizeServerSpan = (s: ReceivedSpan) => s.name === RECOGNIZE_SPAN && s.kind === 'SPAN_KIND_SERVER';

/** True when `span` is `ancestor` or sits under it, following parent ids within `spans`. */
function descendsFrom(span: ReceivedSpan, ancestor: ReceivedSpan, spans: readonly ReceivedSpan[]): boolean {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  let current: ReceivedSpan | undefined = span;
  for (let hops = 0; current !== undefined && hops < 64; hops++) {
    if (current.spanId === ancestor.spanId) return true;
    current = byId.get(current.parentSpanId);
  }
  return false;
}

/** BulkIngest of photo 1 (its largest face) under each subject id. */
function ingestLargestFaces(client: FaceRecognitionClient, subjectIds: readonly string[]): Promise<IngestSummary> {
  return new Promise<IngestSummary>((resolve, reject) => {
    const stream = client.bulkIngest((error, result) => (error ? reject(error) : resolve(result)));
    for (const subjectId of subjectIds) stream.write({ subjectId, image: photo(1), payload: undefined, facePolicy: FacePolicy.FACE_POLICY_LARGEST });
    stream.end();
  });
}

describe('tracing: a traced Recognize exported over OTLP/gRPC', () => {
  const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
  const CALLER_SPAN_ID = '00f067aa0ba902b7';
  const ERROR_TRACE_ID = '5bf92f3577b34da6a3ce929d0e0e4737';
  const ERROR_CALLER_SPAN_ID = '10f067aa0ba902b8';

  let receiver: OtlpReceiver | undefined;
  let child: TracedChild | undefined;
  let client: FaceRecognitionClient | undefined;
  let response: RecognizeResponse;
  /** Everything exported for the good Recognize: its trace plus the batch.run roots. */
  let spans: ReceivedSpan[];
  let rpc: ReceivedSpan;

  before(async () => {
    receiver = await startOtlpReceiver();
    const started = await startTracedServer(receiver.endpoint);
    child = started.child;
    client = new FaceRecognitionClient(`127.0.0.1:${started.grpcPort}`, credentials.createInsecure(), {
      'grpc.max_send_message_length': 64 * 1024 * 1024,
    });
    receiver.clear();
    response = await call(client.recognize, client, { image: photo(1), topK: 1, includeEmbedding: false, filter: undefined, matchFaces: false }, traceparent(TRACE_ID, CALLER_SPAN_ID));
    // The server span ends last, after every stage and batch span of the call;
    // the batching processor exports in end order.
    spans = await receiver.waitForSpans((all) => all.some((s) => s.traceId === TRACE_ID && isRecognizeServerSpan(s)), 15_000);
    const servers = spans.filter(isRecognizeServerSpan);
    assert.equal(servers.length, 1, `one Recognize server span, got ${servers.length}`);
    rpc = servers[0]!;
  }, { timeout: 120_000 });

  after(async () => {
    client?.close();
    if (child) await stopChild(child);
    await receiver?.close();
  });

  it('continues the caller\'s trace: every request span is in its trace id, the server span under its span id', () => {
    assert.ok(response.faces.length >= 1, 'sample1 has faces');
    assert.equal(rpc.traceId, TRACE_ID);
    assert.equal(rpc.parentSpanId, CALLER_SPAN_ID);
    assert.equal(rpc.status.code, 'STATUS_CODE_UNSET');
    assert.equal(rpc.attributes['rpc.grpc.status_code'], 0);
    assert.equal(rpc.resource['service.name'], SERVICE_NAME);
    for (const span of spans) {
      if (span.name === SPAN.batchRun) {
        // A batched model run is a root of its own, tied to requests by links.
        assert.equal(span.parentSpanId, '', 'batch.run is a root span');
        continue;
      }
      assert.equal(span.traceId, TRACE_ID, `${span.name} (${span.spanId}) is in the caller's trace`);
      assert.ok(descendsFrom(span, rpc, spans), `${span.name} (${span.spanId}) sits under the Recognize server span`);
    }
  });

  it('nests the pipeline and store spans under the server span', () => {
    const inTrace = spans.filter((s) => s.traceId === TRACE_ID);
    for (const name of [SPAN.decode, SPAN.detect, SPAN.landmarks, SPAN.align, SPAN.embed, SPAN.storeSearch, SPAN.batchWait]) {
      const found = byName(inTrace, name);
      assert.ok(found.length >= 1, `a ${name} span in the trace; got ${[...new Set(inTrace.map((s) => s.name))].join(', ')}`);
      for (const span of found) assert.ok(descendsFrom(span, rpc, inTrace), `${name} under the server span`);
    }
    // One decode and one detect per image, straight under the RPC span.
    for (const name of [SPAN.decode, SPAN.detect]) {
      const [only, ...rest] = byName(inTrace, name);
      assert.equal(rest.length, 0, `one ${name} span`);
      assert.equal(only!.parentSpanId, rpc.spanId, `${name} is a direct child of the server span`);
    }
    // Landmarks for every detected face; one store search per embedded face.
    assert.equal(byName(inTrace, SPAN.landmarks).length, response.faces.length);
    const embeds = byName(inTrace, SPAN.embed);
    assert.ok(embeds.length >= 1);
    assert.equal(byName(inTrace, SPAN.align).length, embeds.length);
    const searches = byName(inTrace, SPAN.storeSearch);
    assert.equal(searches.length, embeds.length);
    for (const search of searches) assert.equal(search.attributes[ATTR.storeTopK], 1);
    for (const span of inTrace) assert.equal(span.status.code, 'STATUS_CODE_UNSET', `${span.name} did not fail`);
  });

  it('records each batched model run as a batch.run linked to the request spans it served', () => {
    const inTrace = new Map(spans.filter((s) => s.traceId === TRACE_ID).map((s) => [s.spanId, s]));
    const stageOf = { detector: SPAN.detect, landmarks: SPAN.landmarks, embedder: SPAN.embed } as const;
    const runs = byName(spans, SPAN.batchRun).filter((run) => run.links.some((l) => l.traceId === TRACE_ID));
    for (const model of MODELS) {
      const modelRuns = runs.filter((run) => run.attributes[ATTR.modelName] === model);
      assert.ok(modelRuns.length >= 1, `a batch.run for ${model} linked to the request`);
      for (const run of modelRuns) {
        const size = run.attributes[ATTR.batchSize];
        assert.equal(typeof size, 'number');
        assert.ok((size as number) >= 1);
        // Only this request was in flight, so every item of the batch is linked to it.
        assert.equal(run.links.length, size, `${model} batch.run links one span per item`);
        const waits = run.attributes[ATTR.batchQueueWaitMs];
        assert.ok(Array.isArray(waits) && waits.length === size, `${model} queue wait per item: ${JSON.stringify(waits)}`);
        for (const wait of waits) assert.ok(typeof wait === 'number' && wait >= 0);
        assert.equal(run.attributes[ATTR.batchQueueWaitMaxMs], Math.max(...(waits as number[])));
        assert.ok(typeof run.attributes[ATTR.batchRunMs] === 'number' && (run.attributes[ATTR.batchRunMs] as number) > 0);
        for (const link of run.links) {
          const target = inTrace.get(link.spanId);
          assert.ok(target, `${model} batch.run links to a span of the request`);
          assert.equal(target.name, stageOf[model], `${model} batch.run links to the ${stageOf[model]} stage that asked for it`);
          assert.ok(descendsFrom(target, rpc, [...inTrace.values()]));
          // ...and under that stage span, a batch.wait for the queue time, linked back to the run.
          const wait = byName([...inTrace.values()], SPAN.batchWait).find((w) => w.parentSpanId === target.spanId && w.links.some((l) => l.spanId === run.spanId));
          assert.ok(wait, `${model}: a batch.wait under ${target.name} linked to its batch.run`);
          assert.equal(wait.attributes[ATTR.modelName], model);
          assert.equal(wait.endTimeUnixNano, run.startTimeUnixNano, 'the wait ends when the run starts');
        }
      }
    }
  });

  it('sets the documented attributes on the stage and store spans of the Recognize, and no subject id', () => {
    const inTrace = spans.filter((s) => s.traceId === TRACE_ID);
    assertListedNames(inTrace);
    const [decode] = byName(inTrace, SPAN.decode);
    assert.equal(decode!.attributes[ATTR.imageBytes], photo(1).length);
    assert.deepEqual([decode!.attributes[ATTR.imageWidth], decode!.attributes[ATTR.imageHeight]], [response.imageWidth, response.imageHeight]);
    const [detect] = byName(inTrace, SPAN.detect);
    assert.equal(detect!.attributes[ATTR.modelName], 'detector');
    assert.equal(detect!.attributes[ATTR.facesCount], response.faces.length);
    for (const span of byName(inTrace, SPAN.landmarks)) assert.equal(span.attributes[ATTR.modelName], 'landmarks');
    for (const span of byName(inTrace, SPAN.embed)) assert.equal(span.attributes[ATTR.modelName], 'embedder');
    for (const span of byName(inTrace, SPAN.storeSearch)) assert.equal(typeof span.attributes[ATTR.storeMatches], 'number');
    for (const span of inTrace) assert.equal(span.attributes[ATTR.subjectId], undefined, `no subject id on ${span.name}`);
  });

  it('numbers BulkIngest items and stream frames on their spans, and names no subject by default', async () => {
    assert.ok(client && receiver);
    const c = client;
    receiver.clear();
    const summary = await ingestLargestFaces(c, ['trace-ada', 'trace-bo']);
    assert.equal(summary.enrolled, 2, JSON.stringify(summary.errors));
    await new Promise<void>((resolve, reject) => {
      const stream = c.recognizeStream();
      stream.on('data', () => {});
      stream.on('error', reject);
      stream.on('end', () => resolve());
      for (const sequence of [7, 8]) stream.write({ image: photo(3), cameraId: 'door', sequence, topK: 1, matchFaces: false, policy: FramePolicy.FRAME_POLICY_PROCESS_ALL, timestamp: undefined });
      stream.end();
    });
    await call(c.deleteSubject, c, { subjectId: 'trace-ada' });
    const all = await receiver.waitForSpans((got) => byName(got, SPAN.storeDelete).length >= 1 && byName(got, SPAN.streamFrame).length >= 2, 15_000);
    const ours = all.filter((s) => s.scope === 'facerec');
    assertListedNames(ours);

    const items = byName(ours, SPAN.ingestItem);
    assert.deepEqual(items.map((s) => s.attributes[ATTR.ingestIndex]).sort(), [0, 1]);
    const upserts = byName(ours, SPAN.storeUpsert);
    assert.equal(upserts.length, 2);
    for (const upsert of upserts) {
      assert.equal(upsert.attributes[ATTR.facesCount], 1);
      assert.ok(items.some((item) => descendsFrom(upsert, item, ours)), 'store.upsert sits under its ingest.item');
    }
    // The stream counts its own frames from 0, whatever sequence the client sent.
    assert.deepEqual(byName(ours, SPAN.streamFrame).map((s) => s.attributes[ATTR.streamFrameIndex]).sort(), [0, 1]);
    const [deleted] = byName(ours, SPAN.storeDelete);
    assert.equal(deleted!.attributes[ATTR.facesCount], 1);
    // Identities are personal data: off by default (telemetry.spanSubjectIds).
    for (const span of ours) assert.equal(span.attributes[ATTR.subjectId], undefined, `no subject id on ${span.name}`);
  });

  it('records a failed RPC as an error on its server span and on the stage that failed', async () => {
    assert.ok(client && receiver);
    await assert.rejects(
      call(client.recognize, client, { image: Buffer.alloc(0), topK: 1, includeEmbedding: false, filter: undefined, matchFaces: false }, traceparent(ERROR_TRACE_ID, ERROR_CALLER_SPAN_ID)),
      assertStatus(status.INVALID_ARGUMENT),
    );
    const all = await receiver.waitForSpans((s) => s.some((span) => span.traceId === ERROR_TRACE_ID && isRecognizeServerSpan(span)), 15_000);
    const failed = all.filter((s) => s.traceId === ERROR_TRACE_ID);
    const server = failed.find(isRecognizeServerSpan)!;
    assert.equal(server.parentSpanId, ERROR_CALLER_SPAN_ID);
    assert.equal(server.status.code, 'STATUS_CODE_ERROR');
    assert.match(server.status.message, /empty/);
    assert.equal(server.attributes['rpc.grpc.status_code'], status.INVALID_ARGUMENT);
    const decode = byName(failed, SPAN.decode);
    assert.equal(decode.length, 1, 'the failing decode stage has its span');
    assert.equal(decode[0]!.parentSpanId, server.spanId);
    assert.equal(decode[0]!.status.code, 'STATUS_CODE_ERROR');
    assert.equal(decode[0]!.attributes[ATTR.errorCode], 'IMAGE_EMPTY');
    assert.ok(decode[0]!.events.some((e) => e.name === 'exception'), 'exception event on the decode span');
    // Nothing ran past the failed decode.
    assert.deepEqual(byName(failed, SPAN.detect), []);
  });
});

describe('tracing with telemetry.spanSubjectIds turned on', () => {
  let receiver: OtlpReceiver | undefined;
  let child: TracedChild | undefined;
  let client: FaceRecognitionClient | undefined;

  before(async () => {
    receiver = await startOtlpReceiver();
    const started = await startTracedServer(receiver.endpoint, { telemetry: { spanSubjectIds: true } });
    child = started.child;
    client = new FaceRecognitionClient(`127.0.0.1:${started.grpcPort}`, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 });
  }, { timeout: 120_000 });

  after(async () => {
    client?.close();
    if (child) await stopChild(child);
    await receiver?.close();
  });

  it('names the subject on ingest.item, store.upsert and store.delete', async () => {
    assert.ok(client && receiver);
    const summary = await ingestLargestFaces(client, ['named-subject']);
    assert.equal(summary.enrolled, 1, JSON.stringify(summary.errors));
    await call(client.deleteSubject, client, { subjectId: 'named-subject' });
    const all = await receiver.waitForSpans((got) => byName(got, SPAN.storeDelete).length >= 1, 15_000);
    for (const name of [SPAN.ingestItem, SPAN.storeUpsert, SPAN.storeDelete]) {
      assert.deepEqual(byName(all, name).map((s) => s.attributes[ATTR.subjectId]), ['named-subject'], name);
    }
  });
});

// ---------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses the Prometheus text exposition format (enough of it for prom-client's output). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    assert.ok(match, `unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

class Scrape {
  readonly samples: Sample[];
  constructor(readonly text: string) {
    this.samples = parseExposition(text);
  }
  /** Sum over the samples called `name` whose labels include `labels`; 0 when there are none. */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((sum, s) => sum + s.value, 0);
  }
  has(name: string, labels: Record<string, string> = {}): boolean {
    return this.samples.some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }
  type(name: string): string | undefined {
    return new RegExp(`^# TYPE ${name} (\\w+)$`, 'm').exec(this.text)?.[1];
  }
}

describe('metrics: /metrics before and after real calls', () => {
  let server: TestServer | undefined;
  let metricsUrl: string;
  let contentType: string | null;
  let beforeCalls: Scrape;
  let afterCalls: Scrape;
  let recognizedFaces: number;
  let detectedFaces: number;

  const scrape = async (): Promise<Scrape> => {
    const res = await fetch(metricsUrl);
    assert.equal(res.status, 200);
    contentType = res.headers.get('content-type');
    return new Scrape(await res.text());
  };
  const delta = (name: string, labels: Record<string, string> = {}) => afterCalls.value(name, labels) - beforeCalls.value(name, labels);

  before(async () => {
    server = await startTestServer({}, undefined, { metrics: true });
    assert.ok(server.metricsUrl !== undefined, 'metrics endpoint started');
    metricsUrl = server.metricsUrl;
    const { client } = server;
    beforeCalls = await scrape();

    const recognized = await call(client.recognize, client, { image: photo(1), topK: 1, includeEmbedding: false, filter: undefined, matchFaces: false });
    recognizedFaces = recognized.faces.length;
    await assert.rejects(
      call(client.recognize, client, { image: Buffer.alloc(0), topK: 1, includeEmbedding: false, filter: undefined, matchFaces: false }),
      assertStatus(status.INVALID_ARGUMENT),
    );
    const detected = await call(client.detect, client, { image: photo(2), includeEmbedding: false });
    detectedFaces = detected.faces.length;
    // The same photo as the Recognize, so the detector finds the same faces again.
    const enrolled = await call(client.enrollFace, client, { subjectId: 'obs-subject', image: photo(1), payload: undefined, facePolicy: FacePolicy.FACE_POLICY_LARGEST });
    assert.equal(enrolled.duplicate, false);

    afterCalls = await scrape();
  }, { timeout: 120_000 });

  after(async () => {
    await server?.stop();
  });

  it('serves the Prometheus text format with every facerec metric described', () => {
    assert.match(contentType ?? '', /^text\/plain/);
    for (const name of Object.values(METRIC)) assert.match(afterCalls.text, new RegExp(`^# HELP ${name} `, 'm'), `${name} is exposed`);
    assert.equal(afterCalls.type(METRIC.rpcRequests), 'counter');
    assert.equal(afterCalls.type(METRIC.facesDetected), 'counter');
    for (const name of [METRIC.rpcDuration, METRIC.batchSize, METRIC.batchQueueWait, METRIC.inferenceDuration]) assert.equal(afterCalls.type(name), 'histogram');
    for (const name of [METRIC.queueDepth, METRIC.gallerySubjects, METRIC.galleryFaces, METRIC.activeStreams]) assert.equal(afterCalls.type(name), 'gauge');
  });

  it('counts RPCs and their latency by method and status code', () => {
    const calls: Array<[string, string]> = [['Recognize', 'OK'], ['Recognize', 'INVALID_ARGUMENT'], ['Detect', 'OK'], ['EnrollFace', 'OK']];
    for (const [method, code] of calls) {
      const labels = { method, code };
      assert.equal(delta(METRIC.rpcRequests, labels), 1, `${METRIC.rpcRequests} ${JSON.stringify(labels)}`);
      assert.equal(delta(`${METRIC.rpcDuration}_count`, labels), 1, `${METRIC.rpcDuration}_count ${JSON.stringify(labels)}`);
      assert.ok(delta(`${METRIC.rpcDuration}_sum`, labels) > 0, `${METRIC.rpcDuration}_sum ${JSON.stringify(labels)}`);
      // The +Inf bucket holds every observation.
      assert.equal(delta(`${METRIC.rpcDuration}_bucket`, { ...labels, le: '+Inf' }), 1);
    }
    // Only those four calls.
    assert.equal(delta(METRIC.rpcRequests), 4);
    assert.equal(delta(METRIC.rpcRequests, { method: 'Detect', code: 'INVALID_ARGUMENT' }), 0);
  });

  it('observes batch sizes, queue waits and inference time per model', () => {
    assert.ok(recognizedFaces >= 1 && detectedFaces >= 1);
    // Items sent to each model: the detector once per decoded image (the empty
    // one never got there), landmarks once per face found.
    const items = { detector: 3, landmarks: 2 * recognizedFaces + detectedFaces } as Record<string, number>;
    for (const model of MODELS) {
      const batches = delta(`${METRIC.batchSize}_count`, { model });
      const batchedItems = delta(`${METRIC.batchSize}_sum`, { model });
      assert.ok(batches >= 1, `${model}: batches observed`);
      assert.ok(batchedItems >= batches, `${model}: at least one item per batch`);
      if (items[model] !== undefined) assert.equal(batchedItems, items[model], `${model}: items batched`);
      // One queue-wait observation per item, one inference time per batch.
      assert.equal(delta(`${METRIC.batchQueueWait}_count`, { model }), batchedItems, `${model}: queue waits`);
      assert.equal(delta(`${METRIC.inferenceDuration}_count`, { model }), batches, `${model}: inference runs`);
      assert.ok(delta(`${METRIC.inferenceDuration}_sum`, { model }) > 0, `${model}: inference time`);
      assert.ok(afterCalls.has(METRIC.queueDepth, { model }), `${model}: queue depth gauge`);
      assert.equal(afterCalls.value(METRIC.queueDepth, { model }), 0, `${model}: queue drained`);
    }
    // Embeddings for the Recognize (one per face) and the enrolment (two per face: the
    // crop and its mirror image, averaged); Detect asked for none.
    const embedded = delta(`${METRIC.batchSize}_sum`, { model: 'embedder' });
    assert.ok(embedded >= 3 && embedded <= 3 * recognizedFaces, `embedder items: ${embedded}`);
  });

  it('counts the faces detected', () => {
    assert.equal(delta(METRIC.facesDetected), 2 * recognizedFaces + detectedFaces);
  });

  it('reports the gallery size after an enrolment', () => {
    assert.equal(beforeCalls.value(METRIC.gallerySubjects), 0);
    assert.equal(beforeCalls.value(METRIC.galleryFaces), 0);
    assert.equal(afterCalls.value(METRIC.gallerySubjects), 1);
    assert.equal(afterCalls.value(METRIC.galleryFaces), 1);
    assert.equal(afterCalls.value(METRIC.activeStreams), 0);
  });

  it('includes the Node process metrics', () => {
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      assert.ok(afterCalls.has(name), `${name} is exposed`);
    }
    assert.ok(afterCalls.value('process_resident_memory_bytes') > 0);
    assert.ok(afterCalls.value('process_cpu_user_seconds_total') > beforeCalls.value('process_cpu_user_seconds_total'), 'CPU time grew over the calls');
  });
});
