/**
 * The only place errors become gRPC statuses (Qdrant's
 * `impl From<StorageError> for Status`). Everything else throws FacerecError;
 * any other thrown value is a bug and leaves as INTERNAL with a generic
 * message: the cause goes to the log, never to the client.
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { type ErrorCode, type GrpcCodeName, FacerecError } from '../errors.js';

export function grpcCodeOf(name: GrpcCodeName): status {
  switch (name) {
    case 'INVALID_ARGUMENT': return status.INVALID_ARGUMENT;
    case 'NOT_FOUND': return status.NOT_FOUND;
    case 'ALREADY_EXISTS': return status.ALREADY_EXISTS;
    case 'PERMISSION_DENIED': return status.PERMISSION_DENIED;
    case 'UNAUTHENTICATED': return status.UNAUTHENTICATED;
    case 'RESOURCE_EXHAUSTED': return status.RESOURCE_EXHAUSTED;
    case 'FAILED_PRECONDITION': return status.FAILED_PRECONDITION;
    case 'UNAVAILABLE': return status.UNAVAILABLE;
    case 'DEADLINE_EXCEEDED': return status.DEADLINE_EXCEEDED;
    case 'CANCELLED': return status.CANCELLED;
    case 'INTERNAL': return status.INTERNAL;
  }
}

/** Seconds a client should wait before retrying, sent as `retry-after` metadata. */
const RETRY_AFTER_SECONDS: Partial<Record<ErrorCode, number>> = {
  QUEUE_FULL: 1,
  QUEUE_TIMEOUT: 1,
  SERVER_BUSY: 1,
  SHUTTING_DOWN: 5,
  STORE_UNAVAILABLE: 5,
};

export interface StatusLogger {
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Turns anything thrown by a handler into the ServiceError grpc-js sends. */
export function toServiceError(error: unknown, logger?: StatusLogger): ServiceError {
  const metadata = new Metadata();
  if (error instanceof FacerecError) {
    metadata.set('facerec-error-code', error.code);
    const retryAfter = RETRY_AFTER_SECONDS[error.code];
    if (retryAfter !== undefined) metadata.set('retry-after', String(retryAfter));
    if (error.status === 'INTERNAL') logger?.error(error.message, { code: error.code, cause: describeCause(error.cause) });
    return Object.assign(new Error(error.message), { code: grpcCodeOf(error.status), details: error.message, metadata });
  }
  logger?.error('unexpected error in handler', { cause: describeCause(error) });
  return Object.assign(new Error('internal error'), { code: status.INTERNAL, details: 'internal error', metadata });
}

export function describeCause(cause: unknown): string | undefined {
  if (cause === undefined) return undefined;
  if (cause instanceof Error) return cause.stack ?? `${cause.name}: ${cause.message}`;
  return String(cause);
}

export function codeName(code: status): string {
  return status[code] ?? 'UNKNOWN';
}
