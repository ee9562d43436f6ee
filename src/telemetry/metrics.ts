/**
 * Prometheus metrics on a registry of their own (not prom-client's global
 * one), so every test and every server instance starts from zero. Metric and
 * label names come from names.ts; the Grafana dashboard is checked against
 * this registry by test/k8s-manifests.test.ts.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BatchInfo } from '../batching/batcher.js';
import { LABEL, METRIC } from './names.js';

/** gRPC status codes by number, spelled as in grpc/status.proto. */
const GRPC_CODE_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE',
  'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
] as const;

export function grpcCodeName(code: number | string): string {
  return typeof code === 'string' ? code : (GRPC_CODE_NAMES[code] ?? String(code));
}

export interface GallerySize {
  readonly subjects: number;
  readonly faces: number;
}

export type GallerySizeSource = () => GallerySize | Promise<GallerySize>;

/** What the metrics read of one batch (the batcher's BatchInfo). */
export type BatchObservation = Pick<BatchInfo, 'size' | 'queueWaitMs' | 'runMs'>;

/** What the inference workers are doing (src/pipeline/inference-pool.ts). */
export interface InferencePoolLoad {
  readonly workers: number;
  readonly busy: number;
  readonly queued: number;
}

export interface FacerecMetricsOptions {
  /** Node process metrics (CPU, memory, event loop lag, GC); default true. */
  readonly processMetrics?: boolean;
  /** Called when a scrape-time callback (gallery size) fails; the last value stays. */
  readonly onCollectError?: (error: unknown) => void;
}

export interface FacerecMetrics {
  readonly registry: Registry;
  /** One finished RPC; code as a gRPC number or name. */
  recordRpc(method: string, code: number | string, durationMs: number): void;
  recordBatch(model: string, batch: BatchObservation): void;
  setQueueDepth(model: string, depth: number): void;
  /** Reads a model's queue depth on every scrape (e.g. `() => batcher.queueDepth`). */
  watchQueueDepth(model: string, read: () => number): void;
  addFacesDetected(count: number): void;
  /** Reads the gallery size on every scrape. */
  setGallerySizeSource(source: GallerySizeSource): void;
  streamOpened(): void;
  streamClosed(): void;
  /** A stream frame whose work started (+1) or settled (-1). */
  streamFrameWorking(delta: 1 | -1): void;
  /** A stream frame answered: processed, skipped (FRAME_POLICY_LATEST) or failed. */
  recordStreamFrame(outcome: 'processed' | 'skipped' | 'failed'): void;
  /** Faces seen on a processed stream frame and how many of them were embedded. */
  recordStreamFaces(faces: number, embedded: number): void;
  /** An unknown face kept for review. */
  reviewFaceKept(): void;
  /** Reads the inference pool's workers, busy workers and queued jobs on every scrape. */
  watchInferencePool(read: () => InferencePoolLoad): void;
  /** The Prometheus text exposition of everything above. */
  scrape(): Promise<string>;
  readonly contentType: string;
}

const RPC_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_SIZE_BUCKETS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 128];
const QUEUE_WAIT_SECONDS_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5];
const INFERENCE_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export function createMetrics(options: FacerecMetricsOptions = {}): FacerecMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const rpcRequests = new Counter({ name: METRIC.rpcRequests, help: 'Finished RPCs by method and gRPC status code', labelNames: [LABEL.method, LABEL.code], registers });
  const rpcDuration = new Histogram({ name: METRIC.rpcDuration, help: 'RPC latency in seconds by method and gRPC status code', labelNames: [LABEL.method, LABEL.code], buckets: RPC_SECONDS_BUCKETS, registers });
  const batchSize = new Histogram({ name: METRIC.batchSize, help: 'Items per batched model run', labelNames: [LABEL.model], buckets: BATCH_SIZE_BUCKETS, registers });
  const queueWait = new Histogram({ name: METRIC.batchQueueWait, help: 'Time an item waited in the batch queue, in seconds', labelNames: [LABEL.model], buckets: QUEUE_WAIT_SECONDS_BUCKETS, registers });
  const inference = new Histogram({ name: METRIC.inferenceDuration, help: 'Model run time per batch, in seconds', labelNames: [LABEL.model], buckets: INFERENCE_SECONDS_BUCKETS, registers });
  const facesDetected = new Counter({ name: METRIC.facesDetected, help: 'Faces found by the detector', registers });
  const activeStreams = new Gauge({ name: METRIC.activeStreams, help: 'Open RecognizeStream calls', registers });
  const streamFrames = new Counter({ name: METRIC.streamFrames, help: 'RecognizeStream frames answered, by outcome (processed, skipped, failed)', labelNames: [LABEL.outcome], registers });
  const framesInFlight = new Gauge({ name: METRIC.streamFramesInFlight, help: 'RecognizeStream frames being worked on, over all streams', registers });
  const faceFrames = new Counter({ name: METRIC.streamFaceFrames, help: 'Faces seen on processed RecognizeStream frames (one per face per frame)', registers });
  const embeddings = new Counter({ name: METRIC.streamEmbeddings, help: 'Faces of RecognizeStream frames that were embedded; divided by facerec_stream_face_frames_total, the share of face-frames that cost an embedding', registers });
  const reviewKept = new Counter({ name: METRIC.reviewFaces, help: 'Unknown faces kept for review', registers });

  const depthReaders = new Map<string, () => number>();
  const queueDepth = new Gauge({
    name: METRIC.queueDepth, help: 'Items waiting in a model batch queue', labelNames: [LABEL.model], registers,
    collect() {
      for (const [model, read] of depthReaders) this.set({ model }, read());
    },
  });

  // The share of time the event loop was busy between two scrapes: near 1, the
  // main thread itself is the bottleneck, whatever the inference workers do.
  let loopSince = performance.eventLoopUtilization();
  new Gauge({
    name: METRIC.eventLoopUtilization, help: 'Share of the time since the last scrape that the event loop was busy (0 to 1)', registers,
    collect() {
      const now = performance.eventLoopUtilization();
      this.set(performance.eventLoopUtilization(now, loopSince).utilization);
      loopSince = now;
    },
  });
  let readPool: (() => InferencePoolLoad) | undefined;
  const poolGauge = (name: string, help: string, field: keyof InferencePoolLoad) =>
    new Gauge({ name, help, registers, collect() { if (readPool) this.set(readPool()[field]); } });
  poolGauge(METRIC.inferenceWorkers, 'Inference worker threads running', 'workers');
  poolGauge(METRIC.inferenceWorkersBusy, 'Inference worker threads running a job', 'busy');
  poolGauge(METRIC.inferenceJobsQueued, 'Model runs and image-graph jobs waiting for a free inference worker', 'queued');

  let gallerySource: GallerySizeSource | undefined;
  let lastGallery: Promise<GallerySize | undefined> | undefined;
  // Both gallery gauges are collected in one scrape; ask the store once.
  const readGallery = (): Promise<GallerySize | undefined> => {
    if (gallerySource === undefined) return Promise.resolve(undefined);
    if (lastGallery === undefined) {
      const source = gallerySource;
      lastGallery = Promise.resolve()
        .then(() => source())
        .catch((error: unknown) => { options.onCollectError?.(error); return undefined; })
        .finally(() => setImmediate(() => { lastGallery = undefined; }));
    }
    return lastGallery;
  };
  new Gauge({
    name: METRIC.gallerySubjects, help: 'Subjects enrolled in the gallery', registers,
    async collect() { const size = await readGallery(); if (size) this.set(size.subjects); },
  });
  new Gauge({
    name: METRIC.galleryFaces, help: 'Faces enrolled in the gallery', registers,
    async collect() { const size = await readGallery(); if (size) this.set(size.faces); },
  });

  return {
    registry,
    contentType: registry.contentType,
    recordRpc(method, code, durationMs) {
      const labels = { method, code: grpcCodeName(code) };
      rpcRequests.inc(labels);
      rpcDuration.observe(labels, durationMs / 1000);
    },
    recordBatch(model, batch) {
      batchSize.observe({ model }, batch.size);
      for (const waitMs of batch.queueWaitMs) queueWait.observe({ model }, waitMs / 1000);
      inference.observe({ model }, batch.runMs / 1000);
    },
    setQueueDepth: (model, depth) => queueDepth.set({ model }, depth),
    watchQueueDepth: (model, read) => { depthReaders.set(model, read); },
    addFacesDetected: (count) => { if (count > 0) facesDetected.inc(count); },
    setGallerySizeSource: (source) => { gallerySource = source; },
    streamOpened: () => activeStreams.inc(),
    streamClosed: () => activeStreams.dec(),
    streamFrameWorking: (delta) => framesInFlight.inc(delta),
    recordStreamFrame: (outcome) => streamFrames.inc({ outcome }),
    recordStreamFaces: (faces, embedded) => {
      if (faces > 0) faceFrames.inc(faces);
      if (embedded > 0) embeddings.inc(embedded);
    },
    reviewFaceKept: () => reviewKept.inc(),
    watchInferencePool: (read) => { readPool = read; },
    scrape: () => registry.metrics(),
  };
}
