/**
 * CORS as Envoy's cors filter answers it: preflights (OPTIONS with
 * Access-Control-Request-Method) are answered here without auth, actual
 * requests get the allow-origin headers. `*` in the list allows any origin.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface CorsOptions {
  readonly origins: readonly string[];
}

const ALLOW_METHODS = 'GET, POST, PATCH, DELETE, OPTIONS';
const ALLOW_HEADERS = 'authorization, content-type, x-request-id, traceparent, tracestate';
const EXPOSE_HEADERS = 'grpc-status, grpc-message, x-request-id, retry-after';
const MAX_AGE_S = '86400';

export function allowedOrigin(options: CorsOptions, origin: string | undefined): string | undefined {
  if (!origin) return undefined;
  if (options.origins.includes('*')) return '*';
  return options.origins.includes(origin) ? origin : undefined;
}

/** Adds CORS headers to a response; true when the request was a preflight and is now answered. */
export function applyCors(options: CorsOptions, req: IncomingMessage, res: ServerResponse): boolean {
  const origin = allowedOrigin(options, req.headers.origin);
  if (origin) {
    res.setHeader('access-control-allow-origin', origin);
    if (origin !== '*') res.setHeader('vary', 'origin');
    res.setHeader('access-control-expose-headers', EXPOSE_HEADERS);
  }
  const isPreflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
  if (!isPreflight) return false;
  if (origin) {
    res.setHeader('access-control-allow-methods', ALLOW_METHODS);
    res.setHeader('access-control-allow-headers', ALLOW_HEADERS);
    res.setHeader('access-control-max-age', MAX_AGE_S);
  }
  // A disallowed origin gets a bare 204: without allow headers the browser
  // blocks the actual request.
  res.statusCode = 204;
  res.end();
  return true;
}
