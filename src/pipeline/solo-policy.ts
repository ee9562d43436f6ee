/**
 * When a model run may take every thread the inference pool has.
 *
 * A lone request leaves cores idle if each run keeps to one thread, so a run
 * that has the pool to itself gets the wide ("solo") sessions. Under load the
 * pool is free only for an instant between jobs, and a wide run started then
 * is overtaken by the next job, which lands on another worker: three or more
 * ONNX Runtime threads on two cores, and the wide run's parallel sections wait
 * for whichever of its threads lost the core. So a run goes wide only once
 * the pool has had no two model runs at once for `quietMs`: a lone request's
 * stages never overlap, a loaded server's always do.
 */

export interface ModelLoad {
  /** Model runs on the pool's workers now. */
  readonly running: number;
  /** Model runs waiting, counting the one about to be dispatched. */
  readonly waiting: number;
}

/** Long enough to span the gaps between one request's stages, short enough to widen soon after a burst. */
export const SOLO_QUIET_MS = 200;

export class SoloPolicy {
  private lastSharedMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly quietMs = SOLO_QUIET_MS) {}

  /** Called for every model run dispatched; true when it may use the solo sessions. */
  decide(load: ModelLoad, nowMs: number): boolean {
    const alone = load.running === 0 && load.waiting === 1;
    if (!alone) {
      this.lastSharedMs = nowMs;
      return false;
    }
    return nowMs - this.lastSharedMs >= this.quietMs;
  }
}
