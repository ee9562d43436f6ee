/**
 * The parts of envoy.yaml a deployment leans on, which Envoy itself accepts
 * in any form: the admin interface only on loopback, a health endpoint for
 * Kubernetes probes, streaming RPCs not cut off by request or route timeouts,
 * a request body limit that fits the largest image the server accepts, JWT
 * providers that insist on `exp` as the server does, and upstream clusters
 * that spread requests over every server replica.
 */
import type { FileRegistry } from '@bufbuild/protobuf';
import { FACEREC_SERVICE } from '../server/rest/descriptor.js';
import { largestRestBodyBytes, MESSAGE_ENVELOPE_BYTES } from '../server/grpc-server.js';

export { largestRestBodyBytes };

type Json = Record<string, any>;

const LOOPBACK = new Set(['127.0.0.1', '::1']);
const HEALTH_CHECK_FILTER = 'envoy.filters.http.health_check';

/** Seconds in a protobuf JSON Duration ("1.5s"); undefined when absent or not a duration. */
export function durationSeconds(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(-?\d+(?:\.\d+)?)s$/.exec(value);
  return match ? Number(match[1]) : undefined;
}

export function checkAdmin(config: Json): string[] {
  const address = config.admin?.address?.socket_address?.address;
  if (address === undefined) return [];
  return LOOPBACK.has(address) ? [] : [`admin listens on ${address}; bind it to 127.0.0.1 (it can drain, reconfigure and stop Envoy)`];
}

/** GET paths answered by a health_check filter, by listener port: what Kubernetes probes may use. */
export function healthEndpoints(hcms: ReadonlyArray<{ port: number; hcm: Json }>): Array<{ port: number; path: string }> {
  const out: Array<{ port: number; path: string }> = [];
  for (const { port, hcm } of hcms) {
    for (const filter of (hcm.http_filters ?? []) as Json[]) {
      if (filter.name !== HEALTH_CHECK_FILTER || filter.typed_config?.pass_through_mode !== false) continue;
      for (const header of (filter.typed_config.headers ?? []) as Json[]) {
        const path = header.name === ':path' ? (header.string_match?.exact ?? header.exact_match) : undefined;
        if (typeof path === 'string') out.push({ port, path });
      }
    }
  }
  return out;
}

/** Streaming methods of the facerec service, as the gRPC paths Envoy routes on. */
function streamingPaths(appRegistry: FileRegistry): string[] {
  const service = appRegistry.getService(FACEREC_SERVICE);
  if (!service) return [];
  return service.methods.filter((m) => m.methodKind !== 'unary').map((m) => `/${FACEREC_SERVICE}/${m.name}`);
}

/** The first route whose match takes this path, as Envoy picks it (exact path or prefix). */
function routeFor(hcm: Json, path: string): Json | undefined {
  for (const vhost of (hcm.route_config?.virtual_hosts ?? []) as Json[]) {
    for (const route of (vhost.routes ?? []) as Json[]) {
      const match = route.match ?? {};
      if (match.path === path || (typeof match.prefix === 'string' && path.startsWith(match.prefix))) return route;
    }
  }
  return undefined;
}

/**
 * A stream must not end because a clock ran out while it was busy: no
 * connection-wide request_timeout or max_stream_duration, route timeout 0,
 * and an explicit idle timeout in its place.
 */
export function checkStreamingRoutes(hcm: Json, appRegistry: FileRegistry): string[] {
  const problems: string[] = [];
  const requestTimeout = durationSeconds(hcm.request_timeout);
  if (requestTimeout !== undefined && requestTimeout > 0) problems.push(`http_connection_manager request_timeout ${hcm.request_timeout} would end every streaming RPC; set 0s and limit unary routes instead`);
  const transcoder = ((hcm.http_filters ?? []) as Json[]).find((f) => f.name === 'envoy.filters.http.grpc_json_transcoder')?.typed_config;
  if (transcoder?.match_incoming_request_route === true) problems.push('transcoder match_incoming_request_route must stay false: the routes below match gRPC paths, for REST as well');
  const connectionIdle = durationSeconds(hcm.stream_idle_timeout);
  const connectionMaxDuration = hcm.common_http_protocol_options?.max_stream_duration;
  for (const path of streamingPaths(appRegistry)) {
    const route = routeFor(hcm, path)?.route;
    if (!route) {
      problems.push(`no route for streaming RPC ${path}`);
      continue;
    }
    if (durationSeconds(route.timeout) !== 0) problems.push(`streaming RPC ${path}: route timeout must be 0s (found ${route.timeout ?? 'unset, which is 15s'})`);
    const maxDuration = durationSeconds(route.max_stream_duration?.max_stream_duration ?? connectionMaxDuration);
    if (maxDuration !== undefined && maxDuration > 0) problems.push(`streaming RPC ${path}: max_stream_duration ${maxDuration}s would end it; leave it unset or 0s`);
    const idle = route.idle_timeout === undefined ? connectionIdle : durationSeconds(route.idle_timeout);
    if (idle === undefined || idle <= 0) problems.push(`streaming RPC ${path}: set an idle_timeout on its route (or stream_idle_timeout) so a dead stream still ends`);
  }
  return problems;
}

export function checkBodyLimit(transcoder: Json, serverMaxMessageBytes: number): string[] {
  const needed = largestRestBodyBytes(serverMaxMessageBytes);
  const limit = Number(transcoder.max_request_body_size ?? 0);
  if (limit >= needed) return [];
  return [`transcoder max_request_body_size ${limit || 'unset'} is below ${needed}: the server accepts ${serverMaxMessageBytes}-byte images, which are ${needed} bytes as base64 JSON with a ${MESSAGE_ENVELOPE_BYTES}-byte envelope`];
}

/** The server refuses tokens without exp; Envoy must too, or it forwards tokens only to see them fail. */
export function checkJwtExpiry(jwt: Json): string[] {
  const providers = (jwt.providers ?? {}) as Record<string, Json>;
  return Object.entries(providers)
    .filter(([, provider]) => provider.require_expiration !== true)
    .map(([name]) => `jwt provider ${name} must set require_expiration: true (the server refuses tokens without exp)`);
}

/** Cluster types whose hosts are every address the name resolves to, or a list kept up to date. */
const SPREADING_TYPES = new Set(['STATIC', 'STRICT_DNS', 'EDS']);
/** Load balancers that pick a host per request among all of them. */
const PER_REQUEST_POLICIES = new Set(['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM']);

/**
 * A cluster that carries the API must reach every facerec replica, request by
 * request: a LOGICAL_DNS cluster uses one resolved address at a time (and a
 * ClusterIP Service is one address), so with HTTP/2 every request would go
 * down one connection to one pod. STRICT_DNS on a headless Service, or EDS,
 * gives Envoy each pod as a host.
 */
export function checkUpstreamSpread(cluster: Json, usedBy: string): string[] {
  const problems: string[] = [];
  const type = String(cluster.type ?? 'STATIC');
  if (cluster.cluster_type !== undefined) {
    problems.push(`cluster "${cluster.name}" (${usedBy}) uses an extension cluster_type; use STRICT_DNS on a headless Service or EDS so requests spread over every replica`);
  } else if (!SPREADING_TYPES.has(type)) {
    problems.push(`cluster "${cluster.name}" (${usedBy}) is ${type}: Envoy would use one address at a time, so requests would not spread over the replicas; use STRICT_DNS on a headless Service, or EDS`);
  }
  const policy = String(cluster.lb_policy ?? 'ROUND_ROBIN');
  if (!PER_REQUEST_POLICIES.has(policy)) problems.push(`cluster "${cluster.name}" (${usedBy}) lb_policy ${policy}: use ROUND_ROBIN or LEAST_REQUEST to spread requests over the replicas`);
  if (type === 'STRICT_DNS' && cluster.health_checks === undefined) {
    problems.push(`cluster "${cluster.name}" (${usedBy}) has no health_checks: between DNS refreshes a stopped replica would still get requests`);
  }
  return problems;
}
