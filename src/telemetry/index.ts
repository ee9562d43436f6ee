export { ATTR, LABEL, METRIC, SPAN, TRACER_NAME } from './names.js';
export type { MetricName, SpanName } from './names.js';
export { activeTracing, resolveTracingSettings, startTracing } from './tracing.js';
export type { TraceExporterKind, TracingEnv, TracingHandle, TracingOptions, TracingSettings } from './tracing.js';
export {
  allowedAttributes,
  captureContext,
  createPipelineInstrumentation,
  createSpanRunner,
  getFacerecTracer,
  recordBatchSpan,
  recordSpanError,
  toSpanContext,
  withSpan,
} from './spans.js';
export type { BatchSpanInput, Context, Span, SpanContext, SpanPrivacy, Tracer } from './spans.js';
export { createMetrics, grpcCodeName } from './metrics.js';
export type { BatchObservation, FacerecMetrics, FacerecMetricsOptions, GallerySize, GallerySizeSource } from './metrics.js';
export { startMetricsServer } from './metrics-server.js';
export type { MetricsServerOptions, RunningMetricsServer } from './metrics-server.js';
export { traceStore } from './traced-store.js';
