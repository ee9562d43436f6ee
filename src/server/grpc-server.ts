/**
 * The gRPC server: the FaceRecognition service, grpc.health.v1 (SERVING only
 * once the models are loaded) and server reflection, so grpcurl works without
 * proto files.
 */
import { join } from 'node:path';
import { Server, ServerCredentials, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import { FaceRecognitionService } from '../gen/facerec/v1/facerec.js';
import { packageRoot } from '../package-root.js';

export const SERVICE_NAME = 'facerec.v1.FaceRecognition';

export interface GrpcServerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxMessageBytes: number;
  readonly implementation: UntypedServiceImplementation;
}

export interface RunningGrpcServer {
  readonly port: number;
  readonly health: HealthImplementation;
  /** Marks the service SERVING (call once models and store are ready). */
  setServing(serving: boolean): void;
  /** Stops accepting calls, lets running ones finish for up to graceMs, then cancels the rest. */
  stop(graceMs: number): Promise<void>;
}

function reflectionService(): ReflectionService {
  const protoDir = join(packageRoot(), 'proto');
  const definition = loadSync('facerec/v1/facerec.proto', { includeDirs: [protoDir], keepCase: true });
  return new ReflectionService(definition);
}

/** Room for the fields around an image of maxMessageBytes. */
export const MESSAGE_ENVELOPE_BYTES = 64 * 1024;

/**
 * Bytes of the largest REST body the server can accept: an image of
 * maxMessageBytes as base64 (4 characters per 3 bytes, padded) plus the same
 * envelope the gRPC server allows around the image for the other fields.
 * Envoy's body limit and the built-in gateway's both follow it.
 */
export function largestRestBodyBytes(maxMessageBytes: number): number {
  return 4 * Math.ceil(maxMessageBytes / 3) + MESSAGE_ENVELOPE_BYTES;
}

export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const server = new Server({
    // The limit is meant for the image: leave room for the message around it
    // (fields, an enrolment payload), so an image of exactly maxMessageBytes,
    // raw or through the REST gateway, is accepted.
    'grpc.max_receive_message_length': options.maxMessageBytes + MESSAGE_ENVELOPE_BYTES,
    'grpc.max_send_message_length': options.maxMessageBytes,
    // Camera streams are long-lived: keep idle connections alive through proxies.
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_permit_without_calls': 1,
  });
  server.addService(FaceRecognitionService, options.implementation);
  const health = new HealthImplementation({ '': 'NOT_SERVING', [SERVICE_NAME]: 'NOT_SERVING' });
  health.addToServer(server);
  reflectionService().addToServer(server);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host}:${options.port}`, ServerCredentials.createInsecure(), (error, boundPort) =>
      error ? reject(error) : resolve(boundPort),
    );
  });

  return {
    port,
    health,
    setServing(serving) {
      const status = serving ? 'SERVING' : 'NOT_SERVING';
      health.setStatus('', status);
      health.setStatus(SERVICE_NAME, status);
    },
    async stop(graceMs) {
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(SERVICE_NAME, 'NOT_SERVING');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
