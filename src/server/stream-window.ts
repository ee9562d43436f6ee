/**
 * Bounded concurrency over a request stream, for the streaming RPCs.
 *
 * Both helpers read the next request only while fewer than `depth` are
 * unfinished, so a fast client is held back by HTTP/2 flow control instead of
 * making the server buffer. Every started task's failure is observed (a task
 * that rejects after the stream has already failed must not become an
 * unhandled rejection, which would end the process), and reading stops as soon
 * as the signal aborts or a task fails, without waiting for the client's next
 * message.
 */

export interface WindowOptions {
  /** Most requests started but not yet finished (for mapInOrder: not yet emitted). */
  readonly depth: number;
  /** Aborts reading and fails the whole window (client cancelled, deadline). */
  readonly signal: AbortSignal;
}

/**
 * Runs `work` on each request and passes the results to `emit` in request
 * order, each as soon as it and every earlier one are ready: a client that
 * sends one frame and waits gets its answer without sending another.
 * Resolves once every result is emitted; rejects with the first failure of
 * `work` or `emit`, or with the signal's reason.
 */
export async function mapInOrder<T, R>(
  source: AsyncIterable<T>,
  options: WindowOptions,
  work: (request: T) => Promise<R>,
  emit: (result: R) => Promise<void>,
): Promise<void> {
  const stop = new AbortController();
  const stopOnAbort = () => stop.abort(options.signal.reason);
  options.signal.addEventListener('abort', stopOnAbort, { once: true });
  let unemitted = 0;
  let slotFreed: (() => void) | undefined;
  // Each link waits for the one before it, so results leave in order.
  let emitted: Promise<void> = Promise.resolve();
  try {
    for await (const request of abortable(source, stop.signal)) {
      const result = work(request);
      unemitted++;
      emitted = emitted.then(async () => {
        await emit(await result);
        unemitted--;
        slotFreed?.();
      });
      emitted.catch((error: unknown) => stop.abort(error));
      // A result not reached because an earlier link failed is still observed.
      result.catch(() => {});
      while (unemitted >= Math.max(1, options.depth)) await untilSignalOr(stop.signal, (wake) => (slotFreed = wake));
    }
    await emitted;
  } finally {
    options.signal.removeEventListener('abort', stopOnAbort);
  }
  if (stop.signal.aborted) throw stop.signal.reason;
}

/**
 * Runs `work` on each request, at most `depth` at once, in no particular
 * order. Resolves when all have finished; rejects with the first failure or
 * the signal's reason once the tasks still running have settled.
 */
export async function forEachConcurrently<T>(source: AsyncIterable<T>, options: WindowOptions, work: (request: T) => Promise<void>): Promise<void> {
  const stop = new AbortController();
  const stopOnAbort = () => stop.abort(options.signal.reason);
  options.signal.addEventListener('abort', stopOnAbort, { once: true });
  const running = new Set<Promise<void>>();
  let slotFreed: (() => void) | undefined;
  try {
    for await (const request of abortable(source, stop.signal)) {
      const task: Promise<void> = work(request)
        .catch((error: unknown) => void stop.abort(error))
        .finally(() => {
          running.delete(task);
          slotFreed?.();
        });
      running.add(task);
      while (running.size >= Math.max(1, options.depth)) await untilSignalOr(stop.signal, (wake) => (slotFreed = wake));
    }
  } catch (error) {
    if (!stop.signal.aborted) stop.abort(error);
  } finally {
    // Tasks hold model work and store writes: let them settle before answering.
    await Promise.all(running);
    options.signal.removeEventListener('abort', stopOnAbort);
  }
  if (stop.signal.aborted) throw stop.signal.reason;
}

/** Resolves when `register`'s wake function is called or the signal aborts, whichever is first. */
export function untilSignalOr(signal: AbortSignal, register: (wake: () => void) => void): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    register(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/**
 * The source's items until it ends or the signal aborts. A pending read is
 * abandoned on abort (grpc-js ends the request stream itself on cancel), and
 * the source's own error is re-thrown.
 */
export async function* abortable<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  try {
    while (true) {
      if (signal.aborted) throw signal.reason;
      const next = iterator.next();
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<never>((_resolve, reject) => {
        onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        const step = await Promise.race([next, aborted]);
        if (step.done) return;
        yield step.value;
      } finally {
        signal.removeEventListener('abort', onAbort!);
        // The losing read may still fail later (the stream is destroyed on cancel).
        next.catch(() => {});
        aborted.catch(() => {});
      }
    }
  } finally {
    // Not awaited: an async iterator queues return() behind a pending read,
    // which a silent client may never complete.
    void iterator.return?.()?.catch(() => {});
  }
}
