/**
 * The frame window of a RecognizeStream: how many frames are worked on at
 * once, what happens to frames that arrive while the window is full, and the
 * order results leave in.
 *
 * At most `depth` frames are worked on at once, and results leave in frame
 * order, each as soon as it and every earlier one are ready. What a full
 * window does with the next frame depends on the stream's policy:
 *
 * - process-all (recorded video): reading stops until a slot frees, so HTTP/2
 *   flow control holds the client back and every frame is processed;
 * - latest (live camera): reading goes on; the newest frame waits for the
 *   next free slot and an older waiting frame is dropped and answered with
 *   `skip`, so the answers follow the camera instead of falling behind it.
 *
 * Either way the server holds at most `depth` frames being worked on plus
 * one waiting, and reading also stops while `maxUnanswered` results are
 * waiting to be written, so a client that sends fast but reads slowly never
 * makes the server buffer without limit.
 */
import { abortable, untilSignalOr } from './stream-window.js';

export interface FrameWindowOptions<T> {
  /** Frames worked on at once (>= 1). */
  readonly depth: number;
  /** Results not yet written beyond which reading pauses (>= depth + 1). */
  readonly maxUnanswered: number;
  readonly signal: AbortSignal;
  /** True to drop older waiting frames when the window is full (the latest policy); read for every frame. */
  readonly dropOld: (request: T) => boolean;
  /** Called with +1 when a frame's work starts and -1 when it settles (metrics, tests). */
  readonly onWorking?: (delta: 1 | -1) => void;
  /** Called once when the window fails (a failed emit, the signal), before it waits for the frames still being worked on: abort their work here. */
  readonly onStop?: (reason: unknown) => void;
}

interface Entry<T, R> {
  request: T | undefined;
  settle(result: Promise<R>): void;
}

/**
 * Resolves once every frame's result is emitted; rejects with the first
 * failure of `work` or `emit`, or the signal's reason.
 */
export async function processFrames<T, R>(
  source: AsyncIterable<T>,
  options: FrameWindowOptions<T>,
  work: (request: T) => Promise<R>,
  skip: (request: T) => R,
  emit: (result: R) => Promise<void>,
): Promise<void> {
  const stop = new AbortController();
  const stopOnAbort = () => stop.abort(options.signal.reason);
  options.signal.addEventListener('abort', stopOnAbort, { once: true });
  stop.signal.addEventListener('abort', () => options.onStop?.(stop.signal.reason), { once: true });
  const running = new Set<Promise<unknown>>();
  const depth = Math.max(1, options.depth);
  const maxUnanswered = Math.max(depth + 1, options.maxUnanswered);
  let working = 0;
  let unanswered = 0;
  let waiting: Entry<T, R> | undefined;
  let wake: (() => void) | undefined;
  const wakeReader = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  let emitted: Promise<void> = Promise.resolve();

  const start = (entry: Entry<T, R>) => {
    const request = entry.request!;
    entry.request = undefined;
    working++;
    options.onWorking?.(1);
    const done = (async () => work(request))();
    entry.settle(done);
    const settled = done
      .catch(() => {})
      .finally(() => {
        working--;
        options.onWorking?.(-1);
        const next = waiting;
        waiting = undefined;
        if (next && !stop.signal.aborted) start(next);
        else if (next) next.settle(Promise.reject(stop.signal.reason));
        wakeReader();
        running.delete(settled);
      });
    running.add(settled);
  };

  try {
    for await (const request of abortable(source, stop.signal)) {
      let settle!: (result: Promise<R>) => void;
      const result = new Promise<R>((resolve) => (settle = resolve));
      // Observed here too: a result never reached because an earlier one failed must not go unhandled.
      result.catch(() => {});
      const entry: Entry<T, R> = { request, settle };
      unanswered++;
      emitted = emitted.then(async () => {
        await emit(await result);
        unanswered--;
        wakeReader();
      });
      emitted.catch((error: unknown) => stop.abort(error));
      const dropOld = options.dropOld(request);
      if (working < depth) start(entry);
      else {
        if (waiting) {
          const dropped = waiting;
          dropped.settle(Promise.resolve(skip(dropped.request!)));
          dropped.request = undefined;
        }
        waiting = entry;
      }
      // process-all: no frame waits for a slot; latest: only the one. And never too many answers queued.
      while ((!dropOld && waiting) || unanswered >= maxUnanswered) await untilSignalOr(stop.signal, (w) => (wake = w));
    }
    await emitted;
  } catch (error) {
    if (!stop.signal.aborted) stop.abort(error);
  } finally {
    // Frames still in the models hold memory and batch slots: the stream ends after them.
    while (running.size > 0) await Promise.all(running);
    options.signal.removeEventListener('abort', stopOnAbort);
  }
  if (stop.signal.aborted) throw stop.signal.reason;
}
