#!/usr/bin/env node
// Tracing starts first, so the gRPC instrumentation patches grpc-js before the
// server loads it (see src/telemetry/register.ts); it stays off unless an
// OTEL_EXPORTER_OTLP_*ENDPOINT is set.
await import('../dist/src/telemetry/register.js');
await import('../dist/src/cli/main.js');
