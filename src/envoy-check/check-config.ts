/**
 * The offline stand-in for `envoy --mode validate`: decodes envoy.yaml as
 * Envoy's v3 Bootstrap (unknown fields, unresolvable `@type`s, bad enums and
 * durations all fail, as in Envoy) and then cross-checks what Envoy would
 * check at start-up, plus the facerec-specific wiring (filter order, HTTP/2
 * upstreams, transcoder service, JWKS) and what a deployment relies on
 * (check-operations.ts: loopback admin, health endpoint, stream timeouts,
 * body limit).
 *
 * Why a checker of our own: the machines that build and test facerec have no
 * Envoy binary and no container runtime, so `envoy --mode validate` cannot run
 * in CI. Decoding against Envoy's own API protos catches what a schema can
 * (it does not evaluate Envoy's `validate.rules` constraints), and where
 * Envoy is installed its own validation remains the authority.
 */
import { fromJson, type FileRegistry } from '@bufbuild/protobuf';
import { parse as parseYaml } from 'yaml';
import { CONFIG_SCHEMA } from '../config/schema.js';
import { FACEREC_SERVICE, unaryMethodsWithoutRule } from '../server/rest/descriptor.js';
import { checkAdmin, checkBodyLimit, checkJwtExpiry, checkStreamingRoutes, checkUpstreamSpread, healthEndpoints } from './check-operations.js';
import { checkJwks } from './jwks.js';

type Json = Record<string, any>;

export interface EnvoyCheckInputs {
  /** Envoy's API types (loadEnvoyApiRegistry). */
  readonly envoyRegistry: FileRegistry;
  /** facerec's descriptor set (envoy/descriptor.pb), which the transcoder's proto_descriptor names. */
  readonly appRegistry: FileRegistry;
  /** Reads a file that the config names (proto_descriptor, local_jwks.filename) from its deployment path. */
  readonly readDeployedFile: (path: string) => string | undefined;
  /** The server's FACEREC_SERVER__MAX_MESSAGE_BYTES; default: the schema's default. */
  readonly serverMaxMessageBytes?: number;
}

const FILTER_ORDER = ['envoy.filters.http.health_check', 'envoy.filters.http.cors', 'envoy.filters.http.jwt_authn', 'envoy.filters.http.grpc_json_transcoder', 'envoy.filters.http.router'];
const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const HTTP_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** Every problem found; empty means the config passed. */
export function checkEnvoyConfig(yamlText: string, inputs: EnvoyCheckInputs): string[] {
  let config: Json;
  try {
    config = parseYaml(yamlText) as Json;
  } catch (error) {
    return [`YAML does not parse: ${(error as Error).message}`];
  }
  const problems: string[] = [];
  const bootstrap = inputs.envoyRegistry.getMessage('envoy.config.bootstrap.v3.Bootstrap');
  if (!bootstrap) return ['envoy.config.bootstrap.v3.Bootstrap is missing from the Envoy API registry'];
  try {
    fromJson(bootstrap, config, { registry: inputs.envoyRegistry });
  } catch (error) {
    problems.push(`not a valid envoy.config.bootstrap.v3.Bootstrap: ${(error as Error).message}`);
  }
  const clusters = new Map<string, Json>();
  for (const cluster of (config.static_resources?.clusters ?? []) as Json[]) clusters.set(cluster.name, cluster);
  const hcms = listHcms(config);
  if (hcms.length === 0) problems.push('no listener has an http_connection_manager');
  for (const { hcm } of hcms) problems.push(...checkHcm(hcm, clusters, inputs));
  problems.push(...checkAdmin(config));
  const adminPort = config.admin?.address?.socket_address?.port_value;
  if (!healthEndpoints(hcms).some(({ port }) => port !== adminPort)) {
    problems.push('no health endpoint for Kubernetes probes: add an envoy.filters.http.health_check filter (pass_through_mode: false, :path exact) to a listener');
  }
  return problems;
}

function listHcms(config: Json): Array<{ port: number; hcm: Json }> {
  const out: Array<{ port: number; hcm: Json }> = [];
  for (const listener of (config.static_resources?.listeners ?? []) as Json[]) {
    const port = Number(listener.address?.socket_address?.port_value);
    for (const chain of (listener.filter_chains ?? []) as Json[]) {
      for (const filter of (chain.filters ?? []) as Json[]) {
        if (filter.typed_config?.['@type'] === HCM_TYPE) out.push({ port, hcm: filter.typed_config });
      }
    }
  }
  return out;
}

/**
 * Where Kubernetes may probe this Envoy (health_check filter paths by listener
 * port) and its admin port, which probes must not use: admin is loopback-only.
 */
export function envoyProbeTargets(yamlText: string): { adminPort: number | undefined; health: Array<{ port: number; path: string }> } {
  const config = parseYaml(yamlText) as Json;
  return { adminPort: config.admin?.address?.socket_address?.port_value, health: healthEndpoints(listHcms(config)) };
}

function checkHcm(hcm: Json, clusters: Map<string, Json>, inputs: EnvoyCheckInputs): string[] {
  const problems: string[] = [];
  const filters = (hcm.http_filters ?? []) as Json[];
  const names = filters.map((f) => String(f.name));
  if (names[names.length - 1] !== 'envoy.filters.http.router') problems.push(`the router must be the last http filter (found: ${names.join(' → ') || 'none'})`);
  if (names.join() !== FILTER_ORDER.join()) problems.push(`http filters must be ${FILTER_ORDER.join(' → ')} (found: ${names.join(' → ')})`);
  for (const filter of filters) {
    const type = String(filter.typed_config?.['@type'] ?? '');
    if (!type.startsWith('type.googleapis.com/envoy.extensions.filters.http.')) problems.push(`http filter ${filter.name} has typed_config @type ${type || '(none)'}, not an HTTP filter`);
  }
  // Route targets: every cluster named by a route exists, speaks HTTP/2 (all
  // upstreams here are gRPC) and spreads requests over every replica.
  const spreadChecked = new Set<string>();
  for (const vhost of (hcm.route_config?.virtual_hosts ?? []) as Json[]) {
    for (const route of (vhost.routes ?? []) as Json[]) {
      const targets: string[] = [];
      if (route.route?.cluster) targets.push(route.route.cluster);
      for (const w of (route.route?.weighted_clusters?.clusters ?? []) as Json[]) targets.push(w.name);
      for (const name of targets) {
        const usedBy = `route ${JSON.stringify(route.match)}`;
        problems.push(...checkHttp2Cluster(clusters, name, usedBy));
        const cluster = clusters.get(name);
        if (cluster && !spreadChecked.has(name)) {
          spreadChecked.add(name);
          problems.push(...checkUpstreamSpread(cluster, usedBy));
        }
      }
    }
  }
  const tracing = hcm.tracing?.provider;
  if (tracing) {
    const cluster = tracing.typed_config?.grpc_service?.envoy_grpc?.cluster_name;
    if (cluster) problems.push(...checkHttp2Cluster(clusters, cluster, `tracer ${tracing.name}`));
    else if (!tracing.typed_config?.http_service) problems.push(`tracer ${tracing.name} has no collector (grpc_service or http_service)`);
  }
  const transcoder = filters.find((f) => f.name === 'envoy.filters.http.grpc_json_transcoder')?.typed_config;
  if (transcoder) {
    problems.push(...checkTranscoder(transcoder, inputs));
    problems.push(...checkBodyLimit(transcoder, inputs.serverMaxMessageBytes ?? CONFIG_SCHEMA.server.maxMessageBytes.default));
  }
  const jwt = filters.find((f) => f.name === 'envoy.filters.http.jwt_authn')?.typed_config;
  if (jwt) problems.push(...checkJwtAuthn(jwt, clusters, inputs), ...checkJwtExpiry(jwt));
  problems.push(...checkStreamingRoutes(hcm, inputs.appRegistry));
  return problems;
}

function checkHttp2Cluster(clusters: Map<string, Json>, name: string, usedBy: string): string[] {
  const cluster = clusters.get(name);
  if (!cluster) return [`${usedBy} names cluster "${name}", which does not exist`];
  const options = cluster.typed_extension_protocol_options?.[HTTP_OPTIONS_KEY];
  const http2 =
    options?.explicit_http_config?.http2_protocol_options !== undefined ||
    options?.auto_config?.http2_protocol_options !== undefined ||
    cluster.http2_protocol_options !== undefined;
  return http2 ? [] : [`cluster "${name}" (${usedBy}) must speak HTTP/2 for gRPC: set ${HTTP_OPTIONS_KEY} explicit_http_config.http2_protocol_options`];
}

function checkTranscoder(transcoder: Json, inputs: EnvoyCheckInputs): string[] {
  const problems: string[] = [];
  if (transcoder.proto_descriptor && inputs.readDeployedFile(transcoder.proto_descriptor) === undefined) {
    problems.push(`transcoder proto_descriptor ${transcoder.proto_descriptor} cannot be read`);
  }
  for (const name of (transcoder.services ?? []) as string[]) {
    const service = inputs.appRegistry.getService(name);
    if (!service) {
      problems.push(`transcoder service ${name} is not in the descriptor set`);
      continue;
    }
    const missing = unaryMethodsWithoutRule(inputs.appRegistry, service);
    if (missing.length > 0) problems.push(`unary methods of ${name} without a google.api.http rule: ${missing.join(', ')}`);
  }
  if (!(transcoder.services ?? []).includes(FACEREC_SERVICE)) problems.push(`transcoder services must include ${FACEREC_SERVICE}`);
  if (transcoder.convert_grpc_status !== true) problems.push('transcoder must set convert_grpc_status: true');
  if (transcoder.print_options?.preserve_proto_field_names !== true) problems.push('transcoder print_options must preserve_proto_field_names');
  return problems;
}

function checkJwtAuthn(jwt: Json, clusters: Map<string, Json>, inputs: EnvoyCheckInputs): string[] {
  const problems: string[] = [];
  const providers = (jwt.providers ?? {}) as Record<string, Json>;
  for (const [name, provider] of Object.entries(providers)) {
    const local = provider.local_jwks;
    if (local) {
      const text = local.inline_string ?? (local.filename ? inputs.readDeployedFile(local.filename) : undefined);
      if (text === undefined) problems.push(`provider ${name}: local_jwks ${local.filename ?? ''} cannot be read`);
      else problems.push(...checkJwks(text).map((p) => `provider ${name}: ${p}`));
    }
    const remoteCluster = provider.remote_jwks?.http_uri?.cluster;
    if (remoteCluster && !clusters.has(remoteCluster)) problems.push(`provider ${name}: remote_jwks cluster "${remoteCluster}" does not exist`);
  }
  for (const rule of (jwt.rules ?? []) as Json[]) {
    const provider = rule.requires?.provider_name;
    if (provider && !providers[provider]) problems.push(`jwt rule ${JSON.stringify(rule.match)} requires unknown provider "${provider}"`);
  }
  if (jwt.bypass_cors_preflight !== true) problems.push('jwt_authn must set bypass_cors_preflight: true (CORS preflights carry no token)');
  return problems;
}
