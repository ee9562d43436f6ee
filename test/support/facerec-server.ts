/**
 * Starts the real facerec server (real models, real embedded store in a temp
 * DATA_DIR) in this process, on loopback ports picked by the OS (port 0: the
 * server binds first and the app reports the ports it got, so no other process
 * can take one in between), and a generated gRPC client.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadConfig, type DeepPartial } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { FaceRecognitionClient, type IngestRequest, type IngestSummary } from '../../src/gen/facerec/v1/facerec.js';
import { silentLogger } from '../../src/logger.js';
import { startFacerec, type RunningFacerec } from '../../src/server/app.js';

export interface TestServer {
  readonly app: RunningFacerec;
  readonly client: FaceRecognitionClient;
  readonly dataDir: string;
  readonly config: Config;
  /** http://127.0.0.1:PORT of the built-in REST gateway; undefined unless started with { rest: true }. */
  readonly restUrl: string | undefined;
  /** http://127.0.0.1:PORT/metrics; undefined unless started with { metrics: true }. */
  readonly metricsUrl: string | undefined;
  /** Stops the server; removes DATA_DIR unless keepData. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

export interface TestServerOptions {
  /** Also start the built-in REST gateway, on a free loopback port. */
  readonly rest?: boolean;
  /** Also serve /metrics, on a free loopback port. */
  readonly metrics?: boolean;
}

export async function startTestServer(overrides: DeepPartial<Config> = {}, dataDir?: string, options: TestServerOptions = {}): Promise<TestServer> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'facerec-test-')));
  const config = loadConfig({
    env: {},
    overrides: {
      ...overrides,
      server: {
        host: '127.0.0.1',
        grpcPort: 0,
        restEnabled: options.rest ?? false,
        restPort: 0,
        metricsEnabled: options.metrics ?? false,
        metricsPort: 0,
        ...overrides.server,
      },
      store: { dataDir: dir, ...overrides.store },
    },
  });
  const app = await startFacerec(config, { logger: silentLogger });
  const client = new FaceRecognitionClient(`127.0.0.1:${app.grpcPort}`, credentials.createInsecure(), {
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  return {
    app,
    client,
    dataDir: dir,
    config,
    restUrl: app.restPort === undefined ? undefined : `http://127.0.0.1:${app.restPort}`,
    metricsUrl: app.metricsPort === undefined ? undefined : `http://127.0.0.1:${app.metricsPort}/metrics`,
    async stop(options) {
      client.close();
      await app.stop();
      if (!options?.keepData && !dataDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

type Unary<Req, Res> = (request: Req, metadata: Metadata, options: { deadline?: Date }, callback: (error: ServiceError | null, response: Res) => void) => unknown;

/** Promise form of a generated unary method: `await call(client.recognize, client, request)`. */
export function call<Req, Res>(method: Unary<Req, Res>, client: FaceRecognitionClient, request: Req, metadata = new Metadata(), deadline?: Date): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, request, metadata, deadline ? { deadline } : {}, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

export function bearer(token: string): Metadata {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

/** One BulkIngest call with these items; resolves with its summary. */
export function bulkIngest(server: Pick<TestServer, 'client'>, items: readonly IngestRequest[]): Promise<IngestSummary> {
  return new Promise((resolve, reject) => {
    const stream = server.client.bulkIngest((error, summary) => (error ? reject(error) : resolve(summary)));
    for (const item of items) stream.write(item);
    stream.end();
  });
}

/**
 * Deletes every subject, through the same RPCs a client would use. End-to-end
 * tests that share one server (loading the models once per file) call it
 * before each test, so each one sets up the gallery it needs and runs alone
 * or in any order.
 */
export async function emptyGallery(server: Pick<TestServer, 'client'>, metadata = new Metadata()): Promise<void> {
  for (;;) {
    const page = await call(server.client.listSubjects, server.client, { pageSize: 1000, pageToken: '' }, metadata);
    if (page.subjects.length === 0) return;
    for (const subject of page.subjects) await call(server.client.deleteSubject, server.client, { subjectId: subject.subjectId }, metadata);
  }
}
