/**
 * Caps on work the server has accepted, counted in the application rather
 * than by HTTP/2: `grpc.max_concurrent_streams` is per connection and makes
 * clients queue instead of telling them to back off. Unary calls and streams
 * are counted separately, so long-lived camera streams and ingest jobs can
 * never take every slot from short requests, and vice versa.
 */
import { FacerecError } from '../errors.js';

export type CallKind = 'unary' | 'stream';

export interface AdmissionLimits {
  /** Unary calls being handled at once. */
  readonly maxInflightRequests: number;
  /** Streaming calls (RecognizeStream, BulkIngest) open at once. */
  readonly maxStreams: number;
}

export interface Admission {
  /** Takes a slot or throws SERVER_BUSY; call the returned function exactly once to give it back. */
  admit(kind: CallKind): () => void;
  inUse(kind: CallKind): number;
}

export function createAdmission(limits: AdmissionLimits): Admission {
  const used: Record<CallKind, number> = { unary: 0, stream: 0 };
  const limitOf = (kind: CallKind) => (kind === 'unary' ? limits.maxInflightRequests : limits.maxStreams);
  return {
    admit(kind) {
      const limit = limitOf(kind);
      if (used[kind] >= limit) {
        throw new FacerecError('SERVER_BUSY', kind === 'unary' ? `${limit} requests already in progress` : `${limit} streams already open`, {
          details: { kind, limit },
        });
      }
      used[kind]++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        used[kind]--;
      };
    },
    inUse: (kind) => used[kind],
  };
}
