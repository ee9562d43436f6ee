/**
 * Span helpers the pipeline, batcher and server use through a plain `Tracer`
 * argument, so they never import OpenTelemetry themselves and a no-op tracer
 * (`trace.getTracer()` with tracing off) costs next to nothing.
 */
import {
  context as otelContext,
  trace,
  SpanStatusCode,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import type { BatchInfo } from '../batching/batcher.js';
import type { PipelineInstrumentation, StageFacts } from '../pipeline/pipeline.js';
import { ATTR, SPAN, TRACER_NAME } from './names.js';

export type { Context, Span, SpanContext, Tracer };

/** The project's tracer; a no-op until `startTracing` registers a provider. */
export function getFacerecTracer(version?: string): Tracer {
  return trace.getTracer(TRACER_NAME, version);
}

/** The active context, for the batcher to carry as an item's `context`. */
export function captureContext(): Context {
  return otelContext.active();
}

/** Marks a span failed: ERROR status plus an `exception` event. */
export function recordSpanError(span: Span, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  span.recordException(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') span.setAttribute(ATTR.errorCode, code);
}

/**
 * Runs fn inside an active span (children nest under it), ends it, and records
 * a thrown error or rejection before re-throwing it.
 */
export function withSpan<T>(
  tracer: Tracer,
  name: string,
  fn: (span: Span) => T | Promise<T>,
  attributes?: Attributes,
): Promise<T> {
  return tracer.startActiveSpan(name, { attributes: attributes ?? {} }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      recordSpanError(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The pipeline's stage facts as span attributes. */
function stageAttributes(facts: StageFacts): Attributes {
  const attributes: Attributes = {};
  if (facts.imageBytes !== undefined) attributes[ATTR.imageBytes] = facts.imageBytes;
  if (facts.imageWidth !== undefined) attributes[ATTR.imageWidth] = facts.imageWidth;
  if (facts.imageHeight !== undefined) attributes[ATTR.imageHeight] = facts.imageHeight;
  if (facts.faces !== undefined) attributes[ATTR.facesCount] = facts.faces;
  if (facts.model !== undefined) attributes[ATTR.modelName] = facts.model;
  return attributes;
}

/** One active child span per pipeline stage, carrying the facts the pipeline reports. */
export function createPipelineInstrumentation(tracer: Tracer): PipelineInstrumentation {
  return {
    stage: (name, fn, facts) =>
      withSpan(tracer, name, async (span) => {
        const result = await fn();
        if (facts?.after) span.setAttributes(stageAttributes(facts.after(result)));
        return result;
      }, facts?.before ? stageAttributes(facts.before) : undefined),
  };
}

export interface SpanPrivacy {
  /**
   * Record `facerec.subject.id` on spans. A subject id names a person, and
   * traces usually go to a backend with wider access and longer retention
   * than the gallery, so this is off unless the operator turns it on
   * (`telemetry.spanSubjectIds`).
   */
  readonly subjectIds: boolean;
}

/** The attributes a span may carry under `privacy`: subject ids only when allowed. */
export function allowedAttributes(attributes: Attributes, privacy: SpanPrivacy): Attributes {
  if (privacy.subjectIds || !(ATTR.subjectId in attributes)) return attributes;
  const rest = { ...attributes };
  delete rest[ATTR.subjectId];
  return rest;
}

/** Runs fn in a named span with attributes, subject ids only as `privacy` allows (the server's `span` option). */
export function createSpanRunner(tracer: Tracer, privacy: SpanPrivacy) {
  return <T>(name: string, fn: () => Promise<T>, attributes?: Attributes): Promise<T> =>
    withSpan(tracer, name, () => fn(), attributes && allowedAttributes(attributes, privacy));
}

/** Accepts what a batcher item may carry: an OTel Context, a SpanContext, or nothing. */
export function toSpanContext(value: unknown): SpanContext | undefined {
  if (value === undefined || value === null || typeof value !== 'object') return undefined;
  if (typeof (value as Context).getValue === 'function') {
    return trace.getSpanContext(value as Context);
  }
  const candidate = value as Partial<SpanContext>;
  if (typeof candidate.traceId === 'string' && typeof candidate.spanId === 'string') {
    return candidate as SpanContext;
  }
  return undefined;
}

/** One batch as the batcher reports it (contexts: what was captured at enqueue), and which model ran it. */
export interface BatchSpanInput extends BatchInfo {
  readonly model: string;
  /** When the run ended (epoch ms); defaults to now. */
  readonly endTimeMs?: number;
}

/**
 * Records one batched model run after the fact: a root `batch.run` span
 * linked to every request span it served, and, under each request span, a
 * `batch.wait` span covering its time in the queue, linked back to the run.
 * A request's trace so shows how long it waited and, through the link, with
 * whom it ran.
 */
export function recordBatchSpan(tracer: Tracer, input: BatchSpanInput): SpanContext {
  const endMs = input.endTimeMs ?? Date.now();
  const startMs = endMs - input.runMs;
  const requests = input.contexts.map(toSpanContext);
  const links: Link[] = [];
  for (const spanContext of requests) {
    if (spanContext !== undefined && trace.isSpanContextValid(spanContext)) links.push({ context: spanContext });
  }
  const waits = input.queueWaitMs;
  const run = tracer.startSpan(SPAN.batchRun, {
    root: true,
    startTime: startMs,
    links,
    attributes: {
      [ATTR.modelName]: input.model,
      [ATTR.batchSize]: input.size,
      [ATTR.batchQueueWaitMs]: [...waits],
      [ATTR.batchQueueWaitMaxMs]: waits.length > 0 ? Math.max(...waits) : 0,
      [ATTR.batchRunMs]: input.runMs,
    },
  });
  if (input.error !== undefined) recordSpanError(run, input.error);
  run.end(endMs);
  const runContext = run.spanContext();
  input.contexts.forEach((value, index) => {
    if (requests[index] === undefined) return;
    const parent = typeof (value as Context).getValue === 'function'
      ? (value as Context)
      : trace.setSpanContext(otelContext.active(), requests[index]);
    const waitMs = waits[index] ?? 0;
    const wait = tracer.startSpan(
      SPAN.batchWait,
      {
        startTime: startMs - waitMs,
        links: [{ context: runContext }],
        attributes: { [ATTR.modelName]: input.model, [ATTR.batchSize]: input.size, [ATTR.batchQueueWaitMs]: waitMs },
      },
      parent,
    );
    wait.end(startMs);
  });
  return runContext;
}
