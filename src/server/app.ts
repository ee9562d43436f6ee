/**
 * Assembles a running facerec from a Config: models behind dynamic batchers,
 * the pipeline, the gallery store, the gRPC server, and (when their ports are
 * not 0) the REST gateway and the metrics endpoint. `stop()` drains in the
 * reverse order.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Metadata } from '@grpc/grpc-js';
import { createBatchedRunner, type BatchedRunner } from '../batching/index.js';
import type { Config } from '../config/schema.js';
import type { Info, ModelInfo } from '../gen/facerec/v1/facerec.js';
import type { Logger } from '../logger.js';
import { packageRoot } from '../package-root.js';
import { createFacePipeline, closePipelineSessions, defaultModelsDir, openPipelineSessions, type PipelineSessions } from '../pipeline/index.js';
import { createVectorStore, type VectorStore } from '../store/index.js';
import { createAuthenticator } from './auth.js';
import type { CallHooks } from './call-context.js';
import { SERVICE_NAME, startGrpcServer, type RunningGrpcServer } from './grpc-server.js';
import { startRestGateway } from './rest/gateway.js';
import { createFaceRecognitionService } from './service.js';

export interface RunningFacerec {
  readonly grpcPort: number;
  /** Undefined when REST_PORT is 0. */
  readonly restPort: number | undefined;
  readonly store: VectorStore;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly logger: Logger;
}

async function readModelInfo(modelsDir: string): Promise<ModelInfo[]> {
  try {
    const manifest = JSON.parse(await readFile(join(modelsDir, 'manifest.json'), 'utf8')) as {
      models?: Record<string, { file?: string; sha256?: string; sourceSha256?: string }>;
    };
    return Object.entries(manifest.models ?? {}).map(([name, m]) => ({ name, file: m.file ?? `${name}.onnx`, sha256: m.sha256 ?? '', sourceSha256: m.sourceSha256 ?? '' }));
  } catch {
    return [];
  }
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
  const modelsDir = config.pipeline.modelsDir ?? defaultModelsDir();
  const [sessions, store] = await Promise.all([
    openPipelineSessions({ modelsDir, intraOpThreads: config.pipeline.intraOpThreads }),
    createVectorStore(config.store),
  ]);
  const runners = createRunners(sessions, config);
  const pipeline = createFacePipeline({ runners, settings: config.pipeline });
  const auth = createAuthenticator(config.auth);
  const [models, version] = await Promise.all([readModelInfo(modelsDir), packageVersion()]);

  const hooks: CallHooks = {
    before: (method, metadata) => auth.authorize(method, authorizationOf(metadata)),
    logger,
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
    analyzer: pipeline,
    store,
    similarityThreshold: config.pipeline.similarityThreshold,
    info,
    hooks,
  });

  let grpc: RunningGrpcServer;
  try {
    grpc = await startGrpcServer({ host: config.server.host, port: config.server.grpcPort, maxMessageBytes: config.server.maxMessageBytes, implementation });
  } catch (error) {
    await Promise.all([store.close(), closePipelineSessions(sessions)]);
    throw error;
  }
  grpc.setServing(true);

  // REST_PORT 0 turns the gateway off (tests start their own on a free port).
  const rest = config.server.restPort === 0 ? undefined : await startRest(config, grpc.port);

  logger.info('facerec serving', { grpcPort: grpc.port, restPort: rest?.port, store: (await store.stats()).backend, modelsDir });

  let stopped: Promise<void> | undefined;
  return {
    grpcPort: grpc.port,
    restPort: rest?.port,
    store,
    stop() {
      stopped ??= (async () => {
        await rest?.close();
        await grpc.stop(config.server.shutdownGraceMs);
        await Promise.all(Object.values(runners).map((runner: BatchedRunner) => runner.stop()));
        await Promise.all([store.close(), closePipelineSessions(sessions)]);
        logger.info('facerec stopped');
      })();
      return stopped;
    },
  };
}

function createRunners(sessions: PipelineSessions, config: Config) {
  const make = (session: PipelineSessions[keyof PipelineSessions], model: 'detector' | 'landmarks' | 'embedder') =>
    createBatchedRunner(session, { ...config.batching[model], maxInflightBatches: config.batching.maxInflightBatches });
  return {
    detector: make(sessions.detector, 'detector'),
    landmarks: make(sessions.landmarks, 'landmarks'),
    embedder: make(sessions.embedder, 'embedder'),
  };
}

function startRest(config: Config, grpcPort: number) {
  return startRestGateway({
    host: config.server.host,
    port: config.server.restPort,
    grpcTarget: `127.0.0.1:${grpcPort}`,
    descriptorPath: join(packageRoot(), 'envoy', 'descriptor.pb'),
    corsOrigins: config.server.corsOrigins,
    maxBodyBytes: config.server.maxMessageBytes,
  });
}
