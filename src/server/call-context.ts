/**
 * Adapters between grpc-js calls and plain async handlers: every handler gets
 * an AbortSignal that fires when the client cancels or the deadline passes,
 * so work that has not reached a model yet is dropped; every thrown value
 * leaves through `toServiceError`.
 */
import type {
  Metadata,
  ServerDuplexStream,
  ServerReadableStream,
  ServerUnaryCall,
  sendUnaryData,
} from '@grpc/grpc-js';
import { FacerecError } from '../errors.js';
import type { Admission, CallKind } from './admission.js';
import { toServiceError, type StatusLogger } from './status.js';

export interface CallContext {
  readonly method: string;
  readonly metadata: Metadata;
  readonly signal: AbortSignal;
}

export interface CallHooks {
  /** Runs before the handler; throwing rejects the call (auth). */
  before?(method: string, metadata: Metadata): Promise<void>;
  /** Called once per finished call with its gRPC status code (metrics). */
  finished?(method: string, code: number, durationMs: number): void;
  logger?: StatusLogger;
  /** Caps concurrent calls; a refused call ends with SERVER_BUSY before any work. */
  admission?: Admission;
  /** Longest a stream's reply may wait for the client to read before the stream is ended (ms). */
  streamWriteTimeoutMs?: number;
}

const DEFAULT_STREAM_WRITE_TIMEOUT_MS = 30_000;

/** What every grpc-js server call has in common. */
interface AnyCall {
  readonly metadata: Metadata;
  getDeadline(): Date | number;
  on(event: 'cancelled', listener: () => void): unknown;
  removeListener(event: 'cancelled', listener: () => void): unknown;
}

function contextOf(method: string, call: AnyCall): { context: CallContext; dispose(): void } {
  const controller = new AbortController();
  const onCancelled = () => controller.abort(new FacerecError('CANCELLED'));
  call.on('cancelled', onCancelled);
  let timer: NodeJS.Timeout | undefined;
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  if (Number.isFinite(deadlineMs)) {
    const abortAtDeadline = () => controller.abort(new FacerecError('DEADLINE_EXCEEDED'));
    const remainingMs = deadlineMs - Date.now();
    if (remainingMs <= 0) abortAtDeadline();
    else timer = setTimeout(abortAtDeadline, remainingMs).unref();
  }
  return {
    context: { method, metadata: call.metadata, signal: controller.signal },
    dispose() {
      if (timer) clearTimeout(timer);
      call.removeListener('cancelled', onCancelled);
    },
  };
}

function codeOf(error: unknown): number {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 2;
}

/** Runs a handler that answers once (unary or client stream) and reports its outcome to the hooks. */
function answerOnce<Res>(method: string, kind: CallKind, hooks: CallHooks, call: AnyCall, callback: sendUnaryData<Res>, handler: (context: CallContext) => Promise<Res>): void {
  const started = performance.now();
  const { context, dispose } = contextOf(method, call);
  let release: (() => void) | undefined;
  void (async () => {
    try {
      release = hooks.admission?.admit(kind);
      await hooks.before?.(method, call.metadata);
      const response = await handler(context);
      hooks.finished?.(method, 0, performance.now() - started);
      callback(null, response);
    } catch (error) {
      const serviceError = toServiceError(error, hooks.logger);
      hooks.finished?.(method, codeOf(serviceError), performance.now() - started);
      callback(serviceError);
    } finally {
      release?.();
      dispose();
    }
  })();
}

export function unary<Req, Res>(method: string, hooks: CallHooks, handler: (request: Req, context: CallContext) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void =>
    answerOnce(method, 'unary', hooks, call as AnyCall, callback, (context) => handler(call.request, context));
}

export function clientStream<Req, Res>(method: string, hooks: CallHooks, handler: (requests: AsyncIterable<Req>, context: CallContext) => Promise<Res>) {
  return (call: ServerReadableStream<Req, Res>, callback: sendUnaryData<Res>): void =>
    answerOnce(method, 'stream', hooks, call as AnyCall, callback, (context) => handler(call as AsyncIterable<Req>, context));
}

export function bidiStream<Req, Res>(method: string, hooks: CallHooks, handler: (requests: AsyncIterable<Req>, write: (response: Res) => Promise<void>, context: CallContext) => Promise<void>) {
  return (call: ServerDuplexStream<Req, Res>): void => {
    const started = performance.now();
    const { context, dispose } = contextOf(method, call as AnyCall);
    const write = writerFor(call, context.signal, hooks.streamWriteTimeoutMs ?? DEFAULT_STREAM_WRITE_TIMEOUT_MS);
    let release: (() => void) | undefined;
    void (async () => {
      try {
        release = hooks.admission?.admit('stream');
        await hooks.before?.(method, call.metadata);
        // Readable's default iterator destroys the duplex when the client half-closes,
        // which would drop the responses still to be written after the last request.
        await handler(call.iterator({ destroyOnReturn: false }) as AsyncIterable<Req>, write, context);
        hooks.finished?.(method, 0, performance.now() - started);
        call.end();
      } catch (error) {
        const serviceError = toServiceError(error, hooks.logger);
        hooks.finished?.(method, codeOf(serviceError), performance.now() - started);
        // grpc-js turns an 'error' event on a server stream into the call's final
        // status; a cancelled call has already ended and has no one to tell.
        if (!call.cancelled) call.emit('error', serviceError);
      } finally {
        release?.();
        dispose();
      }
    })();
  };
}

/**
 * Writes one response, respecting back-pressure: when the socket buffer is
 * full it waits for 'drain', but never for ever. A cancelled call (the client
 * hung up, or its deadline passed) rejects the wait at once, and a client that
 * keeps the connection open but stops reading gets CLIENT_NOT_READING after
 * timeoutMs, so the handler ends and frees what the stream holds.
 */
function writerFor<Res>(call: ServerDuplexStream<unknown, Res>, signal: AbortSignal, timeoutMs: number): (response: Res) => Promise<void> {
  return (response) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      if (call.write(response)) return resolve();
      const settle = (error?: unknown) => {
        clearTimeout(timer);
        call.removeListener('drain', onDrain);
        signal.removeEventListener('abort', onAbort);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onDrain = () => settle();
      const onAbort = () => settle(signal.reason);
      const timer = setTimeout(
        () => settle(new FacerecError('CLIENT_NOT_READING', `a reply waited ${timeoutMs} ms for flow control`)),
        timeoutMs,
      );
      call.once('drain', onDrain);
      signal.addEventListener('abort', onAbort, { once: true });
    });
}
