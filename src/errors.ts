/**
 * The closed catalogue of errors facerec raises on purpose.
 *
 * Every module throws `FacerecError` with a code from this table; only
 * `server/status.ts` turns a code into a gRPC status (and Envoy or the built-in
 * REST gateway turn that into HTTP). The README's error table is checked
 * against this catalogue by a test, so add a row there when you add one here.
 */

/** gRPC status names, spelled as in grpc/status.proto. */
export type GrpcCodeName =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'PERMISSION_DENIED'
  | 'UNAUTHENTICATED'
  | 'RESOURCE_EXHAUSTED'
  | 'FAILED_PRECONDITION'
  | 'UNAVAILABLE'
  | 'DEADLINE_EXCEEDED'
  | 'CANCELLED'
  | 'INTERNAL';

interface CatalogueEntry {
  readonly status: GrpcCodeName;
  readonly message: string;
}

export const ERROR_CATALOGUE = {
  // Image input
  IMAGE_EMPTY: { status: 'INVALID_ARGUMENT', message: 'image is empty (0 bytes)' },
  IMAGE_UNSUPPORTED: { status: 'INVALID_ARGUMENT', message: 'not a supported image format' },
  IMAGE_TRUNCATED: { status: 'INVALID_ARGUMENT', message: 'image data is truncated or corrupt' },
  IMAGE_ZERO_SIZE: { status: 'INVALID_ARGUMENT', message: 'image has zero width or height' },
  IMAGE_TOO_LARGE: { status: 'INVALID_ARGUMENT', message: 'image has too many pixels' },
  IMAGE_TOO_SMALL: { status: 'INVALID_ARGUMENT', message: 'image is too small to hold a face' },
  // Request shape
  INVALID_ARGUMENT: { status: 'INVALID_ARGUMENT', message: 'invalid argument' },
  NO_FACE: { status: 'INVALID_ARGUMENT', message: 'no face found in the image' },
  MULTIPLE_FACES: { status: 'INVALID_ARGUMENT', message: 'more than one face found in the image' },
  // Enrolment quality gate (server/enrolment-quality.ts)
  FACE_TOO_SMALL: { status: 'INVALID_ARGUMENT', message: 'face too small to enrol' },
  FACE_BLURRED: { status: 'INVALID_ARGUMENT', message: 'face too blurred to enrol' },
  FACE_TURNED: { status: 'INVALID_ARGUMENT', message: 'face turned too far from the camera to enrol' },
  // Gallery
  SUBJECT_NOT_FOUND: { status: 'NOT_FOUND', message: 'subject not found' },
  FACE_NOT_FOUND: { status: 'NOT_FOUND', message: 'face not found' },
  REVIEW_FACE_NOT_FOUND: { status: 'NOT_FOUND', message: 'no unknown face with this id in the review list' },
  ALREADY_EXISTS: { status: 'ALREADY_EXISTS', message: 'already exists' },
  STORE_LOCKED: { status: 'FAILED_PRECONDITION', message: 'data directory is in use by another process' },
  STORE_CORRUPT: { status: 'FAILED_PRECONDITION', message: 'data directory holds files facerec cannot read' },
  STORE_UNAVAILABLE: { status: 'UNAVAILABLE', message: 'vector store is unreachable' },
  // Batching and lifecycle
  QUEUE_FULL: { status: 'RESOURCE_EXHAUSTED', message: 'inference queue is full, retry later' },
  QUEUE_TIMEOUT: { status: 'UNAVAILABLE', message: 'request timed out in the inference queue' },
  SERVER_BUSY: { status: 'RESOURCE_EXHAUSTED', message: 'server is at its limit of concurrent calls, retry later' },
  STREAM_TOO_LONG: { status: 'RESOURCE_EXHAUSTED', message: 'too many items in one stream' },
  CLIENT_NOT_READING: { status: 'RESOURCE_EXHAUSTED', message: 'client stopped reading replies' },
  SHUTTING_DOWN: { status: 'UNAVAILABLE', message: 'server is shutting down' },
  DEADLINE_EXCEEDED: { status: 'DEADLINE_EXCEEDED', message: 'deadline exceeded' },
  CANCELLED: { status: 'CANCELLED', message: 'request cancelled by the client' },
  RPC_FAILED: { status: 'UNAVAILABLE', message: 'call to the facerec server failed' },
  // Camera client (facerec watch)
  SOURCE_UNAVAILABLE: { status: 'UNAVAILABLE', message: 'video source cannot be opened or read' },
  FFMPEG_NOT_FOUND: { status: 'FAILED_PRECONDITION', message: 'ffmpeg not found' },
  // Auth
  UNAUTHENTICATED: { status: 'UNAUTHENTICATED', message: 'missing or invalid bearer token' },
  PERMISSION_DENIED: { status: 'PERMISSION_DENIED', message: 'token lacks the required scope' },
  // Models and configuration
  MODEL_NOT_LOADED: { status: 'INTERNAL', message: 'model is not loaded' },
  MODEL_FAILED: { status: 'INTERNAL', message: 'model inference failed' },
  CONFIG_INVALID: { status: 'INTERNAL', message: 'invalid configuration' },
  ASSET_INTEGRITY: { status: 'INTERNAL', message: 'downloaded or built file failed its integrity check' },
  ASSET_FETCH_FAILED: { status: 'INTERNAL', message: 'could not fetch or unpack a model package' },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class FacerecError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable facts (e.g. `{ width, height, limit }`), safe to send to clients. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    const base = ERROR_CATALOGUE[code].message;
    super(detail ? `${base}: ${detail}` : base, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FacerecError';
    this.code = code;
    this.details = Object.freeze({ ...(options?.details ?? {}) });
  }

  get status(): GrpcCodeName {
    return ERROR_CATALOGUE[this.code].status;
  }
}

export function isFacerecError(value: unknown, code?: ErrorCode): value is FacerecError {
  return value instanceof FacerecError && (code === undefined || value.code === code);
}
