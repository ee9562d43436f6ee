/**
 * Types the RPC handlers share (service.ts, ingest.ts). A leaf:
 * the handler modules import it and it imports none of them, so no two
 * handler modules depend on each other for a type.
 */
import type { FacePipeline } from '../pipeline/pipeline.js';

/**
 * The pipeline as the handlers use it: `analyze` for images, and for camera
 * frames `detectFrame` (decode and detect only) then `describeFaces` (landmarks
 * and embeddings for the detections the tracker asks for). The server passes a
 * wrapper that also counts the faces found; tests may pass the pipeline itself.
 */
export type FaceAnalyzer = Pick<FacePipeline, 'analyze' | 'detectFrame' | 'describeFaces'>;

/** Span attributes by their names in telemetry/names.ts (ATTR). */
export type SpanAttributes = Readonly<Record<string, string | number>>;

/** Runs `fn` inside a span called `name` (stream.frame, ingest.item), with `attributes` on it. */
export type SpanRunner = <T>(name: string, fn: () => Promise<T>, attributes?: SpanAttributes) => Promise<T>;

/** The SpanRunner used when no tracer is given: runs `fn` as it is. */
export const noSpan: SpanRunner = (_name, fn) => fn();
