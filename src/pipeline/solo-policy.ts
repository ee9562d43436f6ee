/**
 * When a model run may take every thread the inference pool has.
 *
 * A lone request leaves cores idle if each run keeps to one thread, so a run
 * that has the pool to itself gets the wide ("solo") sessions. Under load the
 * pool is free only for an instant between jobs, and a wide run started then
 * is overtaken by the next job, which lands on another worker: three or more
 * ONNX Runtime threads on two cores, and the wide run's parallel sections wait
 * for whichever of its threads lost the core. So a run goes wide only once
 * the pool has had no two jobs at once for `quietMs`: a lone request's
 * stages always do, a loaded server's runs never do.
 */

export interface PoolSnapshot {
  readonly workers: number;
  readonly idleWorkers: number;
  /** Jobs waiting, counting the one about to be dispatched. */
  readonly queued: number;
}

/** Long enough to span the gaps between one request's stages, short enough to widen soon after a burst. */
export const SOLO_QUIET_MS = 200;

export class SoloPolicy {
  private lastSharedMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly quietMs = SOLO_QUIET_MS) {}

  /** Called for every dispatch; true when this run may use the solo sessions. */
  decide(pool: PoolSnapshot, nowMs: number): boolean {
    const alone = pool.idleWorkers === pool.workers && pool.queued === 1;
    if (!alone) {
      this.lastSharedMs = nowMs;
      return false;
    }
    return nowMs - this.lastSharedMs >= this.quietMs;
  }
}
