/**
 * Starts the OpenTelemetry Node SDK: OTLP/gRPC span export, the gRPC
 * server/client instrumentation and the W3C trace-context propagator.
 *
 * Configured by the standard OTEL_* variables, but they arrive as an `env`
 * argument (only entry points read process.env). Tracing is off unless an
 * OTLP endpoint is set or OTEL_TRACES_EXPORTER asks for an exporter, so a
 * plain `npm start` never tries to reach a collector.
 *
 * The gRPC instrumentation patches `@grpc/grpc-js` when it is first
 * `require`d, so this must run before anything loads grpc-js: see
 * `register.ts`, which is what entry points load.
 */
import { context, diag, propagation, trace, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { NodeSDK, core, tracing } from '@opentelemetry/sdk-node';
import { resourceFromAttributes } from '@opentelemetry/resources';

export type TracingEnv = Readonly<Record<string, string | undefined>>;

export type TraceExporterKind = 'otlp' | 'console' | 'none';

export interface TracingSettings {
  readonly enabled: boolean;
  readonly exporter: TraceExporterKind;
  /** OTLP/gRPC endpoint, e.g. http://otel-collector:4317 (http:// means plaintext). */
  readonly endpoint: string;
  readonly serviceName: string;
}

export interface TracingOptions {
  /** The OTEL_* variables (pass process.env from the entry point). */
  readonly env: TracingEnv;
  readonly serviceVersion?: string;
  /**
   * Export each span as it ends instead of in batches. Tests use it; batching
   * (the default) is what production wants.
   */
  readonly exportImmediately?: boolean;
  /** Per-export deadline; default: OTEL_EXPORTER_OTLP_TIMEOUT or 10 s, read by the exporter. */
  readonly exportTimeoutMs?: number;
  /**
   * Told when a flush or shutdown could not export (collector down). Export
   * failures never reject: losing spans must not fail a request or a
   * shutdown. Default: one line on stderr.
   */
  readonly onExportError?: (error: unknown) => void;
}

export interface TracingHandle {
  readonly settings: TracingSettings;
  /** Exports every finished span now. */
  forceFlush(): Promise<void>;
  /** Flushes, then stops exporting and unpatches the instrumentation. */
  shutdown(): Promise<void>;
}

const DEFAULT_OTLP_GRPC_ENDPOINT = 'http://localhost:4317';
const DEFAULT_SERVICE_NAME = 'facerec';

const nonEmpty = (value: string | undefined): string | undefined =>
  value !== undefined && value.trim() !== '' ? value.trim() : undefined;

/** Decides from the OTEL_* variables whether and where to export; pure, for tests. */
export function resolveTracingSettings(env: TracingEnv): TracingSettings {
  const endpoint = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) ?? nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const serviceName = nonEmpty(env.OTEL_SERVICE_NAME) ?? DEFAULT_SERVICE_NAME;
  // OTEL_TRACES_EXPORTER may list several; the first one we know wins.
  const requested = (nonEmpty(env.OTEL_TRACES_EXPORTER) ?? '').split(',').map((s) => s.trim().toLowerCase());
  const known = requested.find((s): s is TraceExporterKind => s === 'otlp' || s === 'console' || s === 'none');
  let exporter: TraceExporterKind;
  if (nonEmpty(env.OTEL_SDK_DISABLED)?.toLowerCase() === 'true') exporter = 'none';
  else if (known !== undefined) exporter = known;
  else exporter = endpoint !== undefined ? 'otlp' : 'none';
  return {
    enabled: exporter !== 'none',
    exporter,
    endpoint: endpoint ?? DEFAULT_OTLP_GRPC_ENDPOINT,
    serviceName,
  };
}

function spanExporterFor(settings: TracingSettings, exportTimeoutMs: number | undefined): tracing.SpanExporter {
  if (settings.exporter === 'console') return new tracing.ConsoleSpanExporter();
  return new OTLPTraceExporter({ url: settings.endpoint, ...(exportTimeoutMs !== undefined ? { timeoutMillis: exportTimeoutMs } : {}) });
}

/** Passes spans on and reports failed exports, which the SDK would only hand to diag. */
function reportingExporter(inner: tracing.SpanExporter, onError: (error: unknown) => void): tracing.SpanExporter {
  return {
    export(spans, resultCallback) {
      inner.export(spans, (result) => {
        if (result.code !== core.ExportResultCode.SUCCESS) onError(result.error ?? new Error('span export failed'));
        resultCallback(result);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}

let active: TracingHandle | undefined;

/** The handle `startTracing` returned, if tracing runs (for shutdown in the CLI). */
export function activeTracing(): TracingHandle | undefined {
  return active;
}

/** Starts tracing once per process; later calls return the running handle. */
export function startTracing(options: TracingOptions): TracingHandle {
  if (active !== undefined) return active;
  const settings = resolveTracingSettings(options.env);
  if (!settings.enabled) {
    return { settings, forceFlush: async () => {}, shutdown: async () => {} };
  }
  if (nonEmpty(options.env.OTEL_LOG_LEVEL)?.toLowerCase() === 'debug') {
    diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.DEBUG);
  }
  const onExportError = options.onExportError
    ?? ((error: unknown) => process.stderr.write(`facerec: span export to ${settings.endpoint} failed: ${String(error)}\n`));
  const exporter = reportingExporter(spanExporterFor(settings, options.exportTimeoutMs), onExportError);
  const processor = options.exportImmediately
    ? new tracing.SimpleSpanProcessor(exporter)
    : new tracing.BatchSpanProcessor(exporter);
  const grpcInstrumentation = new GrpcInstrumentation();
  const sdk = new NodeSDK({
    serviceName: settings.serviceName,
    ...(options.serviceVersion !== undefined
      ? { resource: resourceFromAttributes({ 'service.version': options.serviceVersion }) }
      : {}),
    spanProcessors: [processor],
    instrumentations: [grpcInstrumentation],
    // Only W3C trace context: what Envoy and OTel clients send.
    textMapPropagator: new core.W3CTraceContextPropagator(),
    // Metrics and logs go through Prometheus and stderr, not OTLP.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  const handle: TracingHandle = {
    settings,
    forceFlush: () => processor.forceFlush().catch(onExportError),
    shutdown: async () => {
      if (active === handle) active = undefined;
      await sdk.shutdown().catch(onExportError);
      // NodeSDK leaves its globals registered; clear them so a later
      // startTracing (tests, a restart in-process) can register again.
      grpcInstrumentation.disable();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
  active = handle;
  return handle;
}
