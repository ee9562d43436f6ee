/**
 * Starts tracing before the rest of the program loads. Load it first:
 *
 *   node --import ./dist/src/telemetry/register.js dist/src/cli/main.js serve
 *
 * or make it the first import of the CLI entry (ESM evaluates imports in
 * order, so `import './telemetry/register.js'` above every other import works
 * too).
 *
 * Why the createRequire: the gRPC instrumentation patches grpc-js through
 * require-in-the-middle, which sees only CommonJS `require`. An ESM `import`
 * of grpc-js (a CJS package) in Node 20 goes through the ESM loader and is not
 * seen, so the server would run unpatched. Requiring grpc-js here, once the
 * SDK is started, patches the one shared module object (`Server.prototype.
 * register`, `makeClientConstructor`); every later `import` gets that same
 * cached, patched object. This needs no loader hook
 * (`--import @opentelemetry/instrumentation/hook.mjs`, import-in-the-middle),
 * which tsx and source maps do not always get along with.
 *
 * This file is an entry point, so it is allowed to read process.env.
 */
import { createRequire } from 'node:module';
import { startTracing } from './tracing.js';

const handle = startTracing({ env: process.env });

if (handle.settings.enabled) {
  createRequire(import.meta.url)('@grpc/grpc-js');
}

export const tracingHandle = handle;
