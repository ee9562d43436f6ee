/**
 * Starts the real facerec server (real models, real embedded store in a temp
 * DATA_DIR) on loopback ports picked by the OS, and a generated gRPC client.
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
import { freePort } from './free-port.js';

export interface TestServer {
  readonly app: RunningFacerec;
  readonly client: FaceRecognitionClient;
  readonly dataDir: string;
  readonly config: Config;
  /** http://127.0.0.1:PORT of the built-in REST gateway; undefined unless started with { rest: true }. */
  readonly restUrl: string | undefined;
  /** Stops the server; removes DATA_DIR unless keepData. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

export interface TestServerOptions {
  /** Also start the built-in REST gateway, on a free loopback port. */
  readonly rest?: boolean;
}

export async function startTestServer(overrides: DeepPartial<Config> = {}, dataDir?: string, options: TestServerOptions = {}): Promise<TestServer> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'facerec-test-')));
  const configFor = (restPort: number) =>
    loadConfig({
      env: {},
      overrides: {
        ...overrides,
        server: { host: '127.0.0.1', grpcPort: 0, restPort, metricsPort: 0, ...overrides.server },
        store: { dataDir: dir, ...overrides.store },
      },
    });
  let config = configFor(options.rest ? await freePort() : 0);
  let app: RunningFacerec;
  for (let attempt = 1; ; attempt++) {
    try {
      app = await startFacerec(config, { logger: silentLogger });
      break;
    } catch (error) {
      // Another process may take the free port before the gateway listens on it: pick another.
      if (!options.rest || attempt === 3 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      config = configFor(await freePort());
    }
  }
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
