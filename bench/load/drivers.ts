/**
 * The two ways to apply load.
 *
 * Closed loop: `concurrency` workers, each sending its next request as soon
 * as the last one returns. It finds the throughput a server sustains, but
 * a slow server also slows the load, so its latencies understate what
 * users arriving on their own would see.
 *
 * Open loop: requests are due at a steady rate whatever the server does,
 * and each one's latency counts from when it was due, not from when it
 * left (as wrk2 does): when the server falls behind, the time a request
 * waited to be sent (for a free slot under --max-in-flight, or for this
 * process's event loop) shows in the figures instead of being hidden,
 * the error Gil Tene named coordinated omission.
 *
 * Both stop starting requests at the end of the measured window (or after
 * `requests` measured ones), then wait for the ones in flight, which their
 * deadline bounds.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadMode } from './options.js';
import type { NextInput } from './inputs.js';
import { RunRecorder } from './recorder.js';
import { RequestError, type LoadTarget } from './target.js';

export interface RunPlan {
  readonly mode: LoadMode;
  readonly warmupS: number;
  readonly durationS: number;
  readonly requests?: number;
  readonly next: () => NextInput;
  /** Aborting it ends the run early (Ctrl-C): no new requests, in-flight ones finish. */
  readonly stop?: AbortSignal;
}

export interface RunResult {
  readonly recorder: RunRecorder;
  /** Seconds from the end of the warm-up to the last measured response. */
  readonly measuredS: number;
  /** Measured requests sent. */
  readonly sent: number;
  /** Open loop: measured requests that were due but never sent, because the run ended first. */
  readonly unsent: number;
}

/** Sends one request and records it; `dueMs` is when its latency starts. */
function sender(target: LoadTarget, recorder: RunRecorder, lastEnd: { ms: number }) {
  let inFlight = 0;
  const send = async ({ kind, image }: NextInput, dueMs: number): Promise<void> => {
    inFlight++;
    let outcome: { faces: number } | { errorKey: string; message: string };
    try {
      outcome = { faces: await target.recognize(image.bytes) };
    } catch (error) {
      outcome = error instanceof RequestError ? { errorKey: error.key, message: error.message } : { errorKey: 'CLIENT', message: String(error) };
    }
    inFlight--;
    const endMs = performance.now();
    if (dueMs >= recorder.warmupEndMs) lastEnd.ms = Math.max(lastEnd.ms, endMs);
    recorder.record(kind, dueMs, endMs, inFlight, outcome);
  };
  return { send, inFlight: () => inFlight };
}

export async function runLoad(target: LoadTarget, plan: RunPlan): Promise<RunResult> {
  const startMs = performance.now();
  const warmupEndMs = startMs + plan.warmupS * 1000;
  const endMs = warmupEndMs + plan.durationS * 1000;
  const recorder = new RunRecorder(startMs, warmupEndMs);
  const lastEnd = { ms: warmupEndMs };
  const { send, inFlight } = sender(target, recorder, lastEnd);
  let sent = 0;
  /** Whether a request due at `dueMs` may still start. */
  const mayStart = (dueMs: number) =>
    !plan.stop?.aborted && performance.now() < endMs && dueMs < endMs && (plan.requests === undefined || dueMs < warmupEndMs || sent < plan.requests);
  const counted = (dueMs: number) => {
    if (dueMs >= warmupEndMs) sent++;
  };

  let unsent = 0;
  if (plan.mode.kind === 'closed') {
    const worker = async () => {
      for (let now = performance.now(); mayStart(now); now = performance.now()) {
        counted(now);
        await send(plan.next(), now);
      }
    };
    await Promise.all(Array.from({ length: plan.mode.concurrency }, worker));
  } else {
    const { ratePerS, maxInFlight } = plan.mode;
    const intervalMs = 1000 / ratePerS;
    const pending = new Set<Promise<void>>();
    for (let i = 0; ; i++) {
      const dueMs = startMs + i * intervalMs;
      const waitMs = dueMs - performance.now();
      if (waitMs > 0) await sleep(waitMs, undefined, { signal: plan.stop }).catch(() => {});
      // Behind by a full slot budget: wait for a reply; the wait counts in this request's latency.
      while (inFlight() >= maxInFlight && !plan.stop?.aborted) await Promise.race(pending);
      if (!mayStart(dueMs)) {
        if (dueMs < endMs && !plan.stop?.aborted) unsent = dueCount(Math.max(dueMs, warmupEndMs), endMs, intervalMs, plan.requests === undefined ? Infinity : plan.requests - sent);
        break;
      }
      counted(dueMs);
      const request = send(plan.next(), dueMs);
      pending.add(request);
      void request.finally(() => pending.delete(request));
    }
    await Promise.all(pending);
  }
  return { recorder, measuredS: Math.max(0, lastEnd.ms - warmupEndMs) / 1000, sent, unsent };
}

/** Requests due from `fromMs` (inclusive) to `endMs`, at most `limit`. */
function dueCount(fromMs: number, endMs: number, intervalMs: number, limit: number): number {
  return Math.min(limit, Math.ceil((endMs - fromMs) / intervalMs));
}
