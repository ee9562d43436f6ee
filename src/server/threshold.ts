import { FacerecError } from '../errors.js';

/** The similarity threshold a request asks for, or the server's calibrated default when unset. */
export function thresholdOf(requested: number | undefined, fallback: number): number {
  if (requested === undefined) return fallback;
  if (!Number.isFinite(requested) || requested < -1 || requested > 1) {
    throw new FacerecError('INVALID_ARGUMENT', `similarity threshold ${requested} is outside [-1, 1]`);
  }
  return requested;
}
