/**
 * A real OTLP/gRPC trace receiver on loopback for tests: a grpc-js server for
 * `opentelemetry.proto.collector.trace.v1.TraceService/Export` that keeps every
 * span it receives, decoded into plain objects (ids as lowercase hex).
 *
 *   const receiver = await startOtlpReceiver();
 *   // start facerec with OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint
 *   const spans = await receiver.waitForSpans((all) => all.some((s) => s.name === 'embed'));
 *   await receiver.close();
 *
 * The protos under ./otlp are the subset of the OTLP spec this needs.
 */
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type * as GrpcJs from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

// grpc-js through require, as register.ts does, so an instrumented test
// process still shares one (patched) grpc-js module object.
const grpc = createRequire(import.meta.url)('@grpc/grpc-js') as typeof GrpcJs;

export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };

export interface ReceivedLink {
  readonly traceId: string;
  readonly spanId: string;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

export interface ReceivedEvent {
  readonly name: string;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** Empty string for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** e.g. SPAN_KIND_SERVER, SPAN_KIND_INTERNAL. */
  readonly kind: string;
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly events: readonly ReceivedEvent[];
  readonly links: readonly ReceivedLink[];
  /** STATUS_CODE_UNSET, STATUS_CODE_OK or STATUS_CODE_ERROR. */
  readonly status: { readonly code: string; readonly message: string };
  readonly resource: Readonly<Record<string, AttributeValue>>;
  readonly scope: string;
}

export interface OtlpReceiver {
  /** http://127.0.0.1:PORT, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly endpoint: string;
  spans(): Promise<ReceivedSpan[]>;
  /** Resolves with all spans once predicate holds; rejects after timeoutMs (default 5000). */
  waitForSpans(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  /** Forgets the spans received so far. */
  clear(): void;
  close(): Promise<void>;
}

/* Decoded message shapes (proto-loader: camelCase, oneofs, longs and enums as strings). */
interface WireAnyValue {
  value?: string;
  stringValue?: string; boolValue?: boolean; intValue?: string; doubleValue?: number;
  arrayValue?: { values: WireAnyValue[] }; kvlistValue?: { values: WireKeyValue[] }; bytesValue?: Buffer;
}
interface WireKeyValue { key: string; value?: WireAnyValue }
interface WireSpan {
  traceId: Buffer; spanId: Buffer; parentSpanId: Buffer; name: string; kind: string;
  startTimeUnixNano: string; endTimeUnixNano: string; attributes: WireKeyValue[];
  events: Array<{ name: string; attributes: WireKeyValue[] }>;
  links: Array<{ traceId: Buffer; spanId: Buffer; attributes: WireKeyValue[] }>;
  status?: { code: string; message: string };
}
interface WireRequest {
  resourceSpans: Array<{
    resource?: { attributes: WireKeyValue[] };
    scopeSpans: Array<{ scope?: { name: string }; spans: WireSpan[] }>;
  }>;
}

function decodeValue(value: WireAnyValue | undefined): AttributeValue {
  if (value === undefined) return null;
  switch (value.value) {
    case 'stringValue': return value.stringValue ?? '';
    case 'boolValue': return value.boolValue ?? false;
    case 'intValue': return Number(value.intValue ?? 0);
    case 'doubleValue': return value.doubleValue ?? 0;
    case 'arrayValue': return (value.arrayValue?.values ?? []).map(decodeValue);
    case 'kvlistValue': return decodeAttributes(value.kvlistValue?.values ?? []);
    case 'bytesValue': return (value.bytesValue ?? Buffer.alloc(0)).toString('hex');
    default: return null;
  }
}

function decodeAttributes(list: readonly WireKeyValue[]): Record<string, AttributeValue> {
  return Object.fromEntries(list.map((kv) => [kv.key, decodeValue(kv.value)]));
}

const hex = (bytes: Buffer | undefined): string => (bytes ?? Buffer.alloc(0)).toString('hex');

function decodeRequest(request: WireRequest): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of request.resourceSpans) {
    const resource = decodeAttributes(rs.resource?.attributes ?? []);
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        out.push({
          traceId: hex(span.traceId),
          spanId: hex(span.spanId),
          parentSpanId: hex(span.parentSpanId),
          name: span.name,
          kind: span.kind,
          startTimeUnixNano: BigInt(span.startTimeUnixNano),
          endTimeUnixNano: BigInt(span.endTimeUnixNano),
          attributes: decodeAttributes(span.attributes),
          events: span.events.map((e) => ({ name: e.name, attributes: decodeAttributes(e.attributes) })),
          links: span.links.map((l) => ({ traceId: hex(l.traceId), spanId: hex(l.spanId), attributes: decodeAttributes(l.attributes) })),
          status: { code: span.status?.code ?? 'STATUS_CODE_UNSET', message: span.status?.message ?? '' },
          resource,
          scope: ss.scope?.name ?? '',
        });
      }
    }
  }
  return out;
}

export async function startOtlpReceiver(options: { host?: string } = {}): Promise<OtlpReceiver> {
  const host = options.host ?? '127.0.0.1';
  const protoDir = fileURLToPath(new URL('./otlp/', import.meta.url));
  const definition = loadSync('trace_service.proto', {
    includeDirs: [protoDir], longs: String, enums: String, oneofs: true, defaults: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    opentelemetry: { proto: { collector: { trace: { v1: { TraceService: { service: GrpcJs.ServiceDefinition } } } } } };
  };
  const received: ReceivedSpan[] = [];
  const waiters = new Set<() => void>();
  const server = new grpc.Server();
  server.addService(loaded.opentelemetry.proto.collector.trace.v1.TraceService.service, {
    Export: (call: GrpcJs.ServerUnaryCall<WireRequest, unknown>, callback: GrpcJs.sendUnaryData<unknown>) => {
      received.push(...decodeRequest(call.request));
      for (const wake of waiters) wake();
      callback(null, {});
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });

  const waitForSpans = (predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs = 5000) =>
    new Promise<ReceivedSpan[]>((resolve, reject) => {
      const check = () => {
        if (!predicate([...received])) return;
        cleanup();
        resolve([...received]);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching spans within ${timeoutMs} ms; got: ${received.map((s) => s.name).join(', ') || 'none'}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  return {
    endpoint: `http://${host}:${port}`,
    spans: async () => [...received],
    waitForSpans,
    clear: () => { received.length = 0; },
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
