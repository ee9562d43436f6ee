/**
 * How the client commands (`facerec ingest`, `facerec watch`) reach a running
 * server: the same two flags and environment variables everywhere, so a
 * Kubernetes Job or a shell script sets them once.
 *
 * The token may come from FACEREC_TOKEN so it never shows in `ps`; a flag wins
 * over the environment because it is the more deliberate choice.
 */
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';

import { FacerecError } from '../errors.js';
import { FaceRecognitionClient } from '../gen/facerec/v1/facerec.js';
import type { FlagOptions } from './command.js';

export const DEFAULT_SERVER = '127.0.0.1:50051';

/** The util.parseArgs options shared by every client command. */
export const serverConnectionOptions = {
  server: { type: 'string', valueName: 'host:port', description: `the facerec gRPC server (default: FACEREC_SERVER, else ${DEFAULT_SERVER})` },
  token: { type: 'string', valueName: 'JWT', description: 'bearer token, e.g. from facerec token (default: FACEREC_TOKEN, which keeps it out of ps)' },
} as const satisfies FlagOptions;

export interface ServerConnectionSettings {
  readonly server: string;
  readonly token: string | undefined;
}

export function serverConnectionSettings(
  values: { server?: string | undefined; token?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): ServerConnectionSettings {
  return {
    server: values.server ?? (env['FACEREC_SERVER'] || DEFAULT_SERVER),
    token: values.token ?? (env['FACEREC_TOKEN'] || undefined),
  };
}

export interface ServerConnection {
  readonly client: FaceRecognitionClient;
  /** Call metadata carrying the bearer token, when there is one. */
  readonly metadata: Metadata;
  close(): void;
}

/**
 * Opens a client. Replies are not size-limited on receipt: a summary or a
 * frame result the server chose to send should never be dropped by the
 * client's 4 MB default.
 */
export function connectToServer(settings: ServerConnectionSettings, maxSendBytes: number): ServerConnection {
  const client = new FaceRecognitionClient(settings.server, credentials.createInsecure(), {
    'grpc.max_send_message_length': maxSendBytes,
    'grpc.max_receive_message_length': -1,
    // A server whose node vanishes without closing the connection would otherwise leave a long call waiting forever;
    // pings go only while a call is open, once a minute, well inside what servers and Envoy accept.
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 10_000,
  });
  const metadata = new Metadata();
  if (settings.token) metadata.set('authorization', `Bearer ${settings.token}`);
  return { client, metadata, close: () => client.close() };
}

/** A failed call as a FacerecError whose message tells the operator what to do next. */
export function rpcError(error: unknown, what: string, server: string): unknown {
  const { code, details } = error as Partial<ServiceError>;
  if (typeof code !== 'number') return error;
  if (code === status.UNAUTHENTICATED) return new FacerecError('UNAUTHENTICATED', `${details ?? ''} (pass --token or set FACEREC_TOKEN)`, { cause: error });
  if (code === status.PERMISSION_DENIED) return new FacerecError('PERMISSION_DENIED', `${details ?? ''} (the token lacks the scope ${what} needs)`, { cause: error });
  return new FacerecError('RPC_FAILED', `${what} to ${server}: ${status[code]}: ${details ?? ''}`, { cause: error });
}

/** Status codes worth retrying after a pause: the server restarting, busy or briefly unreachable. */
export function isTransient(error: unknown): boolean {
  const { code, metadata } = error as Partial<ServiceError>;
  if (code === status.UNAVAILABLE || code === status.ABORTED) return true;
  // RESOURCE_EXHAUSTED is also a message over the size limit or a stream past its item limit, which no retry mends:
  // only the server's own "busy, retry later" is waited out.
  return code === status.RESOURCE_EXHAUSTED && metadata?.get('facerec-error-code')[0] === 'SERVER_BUSY';
}
