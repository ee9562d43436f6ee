/**
 * Assembles a running facerec from a Config: models behind dynamic batchers,
 * the pipeline, the gallery store, the gRPC server, and (unless turned off)
 * the REST gateway and the metrics endpoint. `stop()` drains in the reverse
 * order.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Metadata } from '@grpc/grpc-js';
import { createBatchedRunner, type BatchedRunner } from '../batching/index.js';
import type { ModelRunner } from '../pipeline/session.js';
import {
  captureContext,
  createMetrics,
  createPipelineInstrumentation,
  createSpanRunner,
  getFacerecTracer,
  recordBatchSpan,
  startMetricsServer,
  traceStore,
  type FacerecMetrics,
  type Tracer,
} from '../telemetry/index.js';
import type { Config } from '../config/schema.js';
import type { Info, ModelInfo } from '../gen/facerec/v1/facerec.js';
import type { Logger } from '../logger.js';
import { packageRoot } from '../package-root.js';
// manifest.js, not index.js: the index also pulls the model build tools (dev dependencies).
import { defaultModelsDir, loadBuildManifest, type ModelName } from '../models/manifest.js';
import { createFacePipeline, closePipelineSessions, inputMaker, openPipelineSessions, type PipelineSessions } from '../pipeline/index.js';
import { createVectorStore, type VectorStore } from '../store/index.js';
import { createAdmission } from './admission.js';
import { createAuthenticator } from './auth.js';
import type { CallHooks } from './call-context.js';
import { largestRestBodyBytes, SERVICE_NAME, startGrpcServer, type RunningGrpcServer } from './grpc-server.js';
import { startRestGateway } from './rest/gateway.js';
import { facePolicyNamed } from './ingest.js';
import type { FaceAnalyzer } from './handler-types.js';
import { createFaceRecognitionService } from './service.js';
import type { StreamSettings } from './stream-session.js';
import { createUnknownTrackSink, type ReviewSettings } from './review.js';
import { hostsReviewStore, type ReviewStore } from '../store/review-store.js';
import { FacerecError } from '../errors.js';

export interface RunningFacerec {
  /** The ports actually bound (a configured 0 becomes the free port the OS gave). */
  readonly grpcPort: number;
  /** Undefined when FACEREC_SERVER__REST_ENABLED is false. */
  readonly restPort: number | undefined;
  /** Undefined when FACEREC_SERVER__METRICS_ENABLED is false. */
  readonly metricsPort: number | undefined;
  readonly store: VectorStore;
  readonly metrics: FacerecMetrics;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly logger: Logger;
}

function readModelInfo(modelsDir: string): ModelInfo[] {
  const manifest = loadBuildManifest(modelsDir);
  return Object.entries(manifest?.models ?? {}).map(([name, m]) => ({ name, file: m.file, sha256: m.sha256, sourceSha256: m.sourceSha256 }));
}

async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function authorizationOf(metadata: Metadata): string | undefined {
  const value = metadata.get('authorization')[0];
  return typeof value === 'string' ? value : undefined;
}

export async function startFacerec(config: Config, { logger }: StartOptions): Promise<RunningFacerec> {
  // First, before models and store open: a refused auth config (CONFIG_INVALID)
  // then stops start-up with nothing to tear down.
  const auth = createAuthenticator(config.auth);
  if (!auth.enabled) {
    // Loud on purpose: an unset key is easy to miss in a deployment, and the
    // result is a server that anyone who can reach it may read and change.
    logger.warn('AUTH IS OFF: AUTH_SECRET_KEY is not set, so every RPC is open to anyone who can reach this server; set AUTH_SECRET_KEY, and FACEREC_AUTH__REQUIRED=true to make a missing key fatal', { authRequired: false });
  }
  const modelsDir = config.pipeline.modelsDir ?? defaultModelsDir();
  const inferenceWorkers = config.pipeline.inferenceWorkers || availableParallelism();
  const [opened, connected] = await Promise.allSettled([
    openPipelineSessions({ modelsDir, intraOpThreads: config.pipeline.intraOpThreads, workers: inferenceWorkers }),
    createVectorStore(config.store, { logger }),
  ]);
  if (opened.status === 'rejected' || connected.status === 'rejected') {
    // Whichever did open is closed again, so the store's lock is not held by a
    // process that failed to start (a retry in the same process would be refused).
    if (opened.status === 'fulfilled') await closePipelineSessions(opened.value);
    if (connected.status === 'fulfilled') await connected.value.close();
    throw opened.status === 'rejected' ? opened.reason : (connected as PromiseRejectedResult).reason;
  }
  const sessions = opened.value;
  const rawStore = connected.value;
  const version = await packageVersion();
  const tracer = getFacerecTracer(version);
  const metrics = createMetrics({ onCollectError: (error) => logger.warn('metrics collection failed', { error: String(error) }) });
  const spanPrivacy = { subjectIds: config.telemetry.spanSubjectIds };
  const store = traceStore(rawStore, tracer, spanPrivacy);
  if (sessions.pool) {
    const pool = sessions.pool;
    metrics.watchInferencePool(() => pool.stats);
  }
  const runners = createRunners(sessions, config, metrics, tracer, config.batching.maxInflightBatches || inferenceWorkers);
  const pipeline = createFacePipeline({ runners: withRequestContext(runners), settings: config.pipeline, instrumentation: createPipelineInstrumentation(tracer) });
  const analyzer: FaceAnalyzer = {
    async analyze(image, options) {
      const result = await pipeline.analyze(image, options);
      metrics.addFacesDetected(result.faces.length);
      return result;
    },
    async detectFrame(image, options) {
      const frame = await pipeline.detectFrame(image, options);
      metrics.addFacesDetected(frame.detections.length);
      return frame;
    },
    describeFaces: (frame, indexes, options) => pipeline.describeFaces(frame, indexes, options),
  };
  metrics.setGallerySizeSource(async () => {
    const stats = await rawStore.stats();
    return { subjects: stats.subjectCount, faces: stats.faceCount };
  });
  const models = readModelInfo(modelsDir);
  // Every backend keeps the review list beside the gallery, so all replicas see one list.
  let review: ReviewStore;
  try {
    if (!hostsReviewStore(rawStore)) throw new FacerecError('CONFIG_INVALID', 'the store backend keeps no review list');
    review = await rawStore.openReviewStore();
  } catch (error) {
    // As for a failed open above: nothing is left holding the store or the models.
    await Promise.all([rawStore.close(), closePipelineSessions(sessions)]);
    throw error;
  }
  const reviewSettings: ReviewSettings = {
    maxFaces: config.review.maxFaces,
    maxAgeMs: config.review.maxAgeHours * 3_600_000,
    minTrackFrames: config.review.minTrackFrames,
    cropSizePx: config.review.cropSizePx,
  };

  const hooks: CallHooks = {
    before: (method, metadata) => auth.authorize(method, authorizationOf(metadata)),
    finished: (method, code, durationMs) => metrics.recordRpc(method, code, durationMs),
    logger,
    admission: createAdmission({ maxInflightRequests: config.server.maxInflightRequests, maxStreams: config.server.maxStreams }),
    streamWriteTimeoutMs: config.server.streamWriteTimeoutMs,
  };

  const info = async (): Promise<Info> => {
    const stats = await store.stats();
    return {
      service: SERVICE_NAME,
      version,
      models,
      storeBackend: stats.backend,
      subjects: stats.subjectCount,
      faces: stats.faceCount,
      defaultThreshold: config.pipeline.similarityThreshold,
      embeddingDim: stats.dimension,
      authRequired: auth.enabled,
    };
  };

  const implementation = createFaceRecognitionService({
    analyzer,
    store,
    similarityThreshold: config.pipeline.similarityThreshold,
    maxTopK: config.server.maxTopK,
    info,
    hooks,
    span: createSpanRunner(tracer, spanPrivacy),
    onStream: (delta) => (delta > 0 ? metrics.streamOpened() : metrics.streamClosed()),
    maxIngestItems: config.server.maxIngestItems,
    faceChoice: { defaultPolicy: facePolicyNamed(config.enrolment.defaultFacePolicy), dominantAreaRatio: config.enrolment.dominantAreaRatio },
    enrolmentQuality: { minFaceSizePx: config.enrolment.minFaceSizePx, minSharpness: config.enrolment.minSharpness, maxYawDeg: config.enrolment.maxYawDeg },
    flipAverageEnrolment: config.enrolment.flipAverage,
    flipAverageProbes: config.pipeline.flipAverageProbes,
    streamWindow: config.stream.maxFramesInFlight,
    review: { store: review, settings: reviewSettings, keepUnknown: createUnknownTrackSink(review, reviewSettings, () => metrics.reviewFaceKept()) },
    stream: streamSettings(config),
    logger,
    streamObserver: {
      working: (delta) => metrics.streamFrameWorking(delta),
      frame: (outcome) => metrics.recordStreamFrame(outcome),
      faces: (faces, embedded) => metrics.recordStreamFaces(faces, embedded),
    },
  });

  let grpc: RunningGrpcServer | undefined;
  let rest: Awaited<ReturnType<typeof startRest>> | undefined;
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
  // One teardown for a normal stop and for a start that fails part-way (a taken
  // port must not leave the gRPC server, batchers and store running).
  const teardown = async (graceMs: number) => {
    await rest?.close();
    await metricsServer?.close();
    await grpc?.stop(graceMs);
    await Promise.all(Object.values(runners).map((runner: BatchedRunner) => runner.stop()));
    await Promise.all([store.close(), closePipelineSessions(sessions)]);
  };
  try {
    grpc = await startGrpcServer({ host: config.server.host, port: config.server.grpcPort, maxMessageBytes: config.server.maxMessageBytes, implementation });
    grpc.setServing(true);
    rest = config.server.restEnabled ? await startRest(config, grpc.port, logger) : undefined;
    metricsServer = config.server.metricsEnabled ? await startMetricsServer({ host: config.server.host, port: config.server.metricsPort, metrics }) : undefined;
  } catch (error) {
    await teardown(0);
    throw error;
  }

  logger.info('facerec serving', { grpcPort: grpc.port, restPort: rest?.port, metricsPort: metricsServer?.port, store: (await store.stats()).backend, modelsDir });

  let stopped: Promise<void> | undefined;
  return {
    grpcPort: grpc.port,
    restPort: rest?.port,
    metricsPort: metricsServer?.port,
    store,
    metrics,
    stop() {
      stopped ??= (async () => {
        await teardown(config.server.shutdownGraceMs);
        logger.info('facerec stopped');
      })();
      return stopped;
    },
  };
}

function streamSettings(config: Config): StreamSettings {
  const { stream } = config;
  return {
    iouThreshold: stream.trackIouThreshold,
    maxMissedFrames: stream.trackMaxMissedFrames,
    reidMinSimilarity: stream.trackReidSimilarity,
    maxTracks: stream.maxTracks,
    reembed: { everyFrames: stream.reembedEveryFrames, growthRatio: stream.reembedGrowthRatio, scoreGain: stream.reembedScoreGain },
  };
}

function createRunners(sessions: PipelineSessions, config: Config, metrics: FacerecMetrics, tracer: Tracer, maxInflightBatches: number): Record<ModelName, BatchedRunner> {
  const make = (model: ModelName) => {
    const runner = createBatchedRunner(sessions[model], {
      ...config.batching[model],
      maxInflightBatches,
      makeInput: inputMaker(sessions.imageOps, model),
      onBatch(info) {
        metrics.recordBatch(model, info);
        recordBatchSpan(tracer, { model, ...info });
      },
    });
    metrics.watchQueueDepth(model, () => runner.stats.queueDepth);
    return runner;
  };
  return { detector: make('detector'), landmarks: make('landmarks'), embedder: make('embedder') };
}

/** Each queued item carries its request's trace context, so the batch span can link to it. */
function withRequestContext(runners: Record<ModelName, BatchedRunner>): Record<ModelName, ModelRunner> {
  const wrap = (runner: BatchedRunner): ModelRunner => ({
    name: runner.name,
    itemDims: runner.itemDims,
    infer: (item, options) => runner.infer(item, { ...options, context: captureContext() }),
  });
  return { detector: wrap(runners.detector), landmarks: wrap(runners.landmarks), embedder: wrap(runners.embedder) };
}

function startRest(config: Config, grpcPort: number, logger: Logger) {
  return startRestGateway({
    host: config.server.host,
    port: config.server.restPort,
    grpcTarget: `127.0.0.1:${grpcPort}`,
    descriptorPath: join(packageRoot(), 'envoy', 'descriptor.pb'),
    corsOrigins: config.server.corsOrigins,
    // Base64 JSON bodies are 4/3 of the image they carry (Envoy's limit is the same).
    maxBodyBytes: largestRestBodyBytes(config.server.maxMessageBytes),
    requestTimeoutMs: config.server.restRequestTimeoutMs,
    logger,
  });
}
