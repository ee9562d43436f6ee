/**
 * envoy/envoy.yaml checked offline (no Envoy binary here): it passes
 * `checkEnvoyConfig`, and each broken variant fails it with the problem named,
 * so the check is known to bite. Where Envoy exists, also run
 * `envoy --mode validate -c envoy/envoy.yaml`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { CONFIG_SCHEMA } from '../src/config/schema.js';
import { checkEnvoyConfig, largestRestBodyBytes, loadEnvoyApiRegistry, readDeployedFile, jwksFromSecret } from '../src/envoy-check/index.js';
import { loadDescriptorRegistry } from '../src/server/rest/descriptor.js';

type Json = Record<string, any>;
const source = readFileSync('envoy/envoy.yaml', 'utf8');
const inputs = { envoyRegistry: loadEnvoyApiRegistry(), appRegistry: loadDescriptorRegistry('envoy/descriptor.pb'), readDeployedFile };

const hcmOf = (c: Json) => c.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
const filterOf = (c: Json, name: string) => hcmOf(c).http_filters.find((f: Json) => f.name === name).typed_config;
const filterIndex = (c: Json, name: string) => hcmOf(c).http_filters.findIndex((f: Json) => f.name === name);
const routesOf = (c: Json) => hcmOf(c).route_config.virtual_hosts[0].routes as Json[];
const routeFor = (c: Json, path: string): Json => routesOf(c).find((r) => r.match.path === path)!;
const clusterOf = (c: Json, name: string) => c.static_resources.clusters.find((x: Json) => x.name === name);

function variant(edit: (config: Json) => void): string[] {
  const config = parse(source) as Json;
  edit(config);
  return checkEnvoyConfig(stringify(config), inputs);
}

function assertFails(problems: string[], pattern: RegExp): void {
  assert.ok(problems.some((p) => pattern.test(p)), `expected a problem matching ${pattern}, got:\n${problems.join('\n') || '(none)'}`);
}

test('envoy/envoy.yaml passes the offline check', () => {
  assert.deepEqual(checkEnvoyConfig(source, inputs), []);
});

test('the config has the shape the deployment relies on', () => {
  const config = parse(source) as Json;
  const transcoder = filterOf(config, 'envoy.filters.http.grpc_json_transcoder');
  assert.deepEqual(transcoder.services, ['facerec.v1.FaceRecognition']);
  assert.equal(transcoder.print_options.always_print_primitive_fields, true);
  // 32 MiB images as base64 JSON plus the 64 KiB envelope: 44804780 bytes.
  assert.equal(largestRestBodyBytes(CONFIG_SCHEMA.server.maxMessageBytes.default), 44_804_780);
  assert.ok(transcoder.max_request_body_size >= 44_804_780, 'the largest image the server takes fits as base64 JSON');
  const jwt = filterOf(config, 'envoy.filters.http.jwt_authn');
  assert.deepEqual(jwt.rules[0], { match: { path: '/' } }, 'GET / needs no token');
  assert.ok(jwt.rules.some((r: Json) => r.match.prefix === '/grpc.health.v1.Health/' && !r.requires), 'health needs no token');
  assert.equal(jwt.providers.facerec.forward, true, 'the server sees the token too');
  assert.equal(jwt.providers.facerec.require_expiration, true, 'tokens without exp are refused, as by the server');
  assert.equal(typeof jwt.providers.facerec.issuer, 'string');
  assert.equal(jwt.providers.facerec.audiences.length, 1);
  assert.equal(hcmOf(config).tracing.provider.typed_config.service_name, 'envoy-facerec');
  assert.deepEqual(config.admin.address.socket_address, { address: '127.0.0.1', port_value: 9901 });
  for (const method of ['BulkIngest', 'RecognizeStream']) {
    const route = routeFor(config, `/facerec.v1.FaceRecognition/${method}`);
    assert.ok(route, `${method} has its own route`);
    assert.equal(route.route.timeout, '0s');
    assert.equal(route.route.idle_timeout, '300s');
  }
  assert.equal(hcmOf(config).request_timeout, '0s');
  assert.equal(filterIndex(config, 'envoy.filters.http.health_check'), 0, 'probes are answered before CORS and JWT');
});

test('admin on a routable address, or no health endpoint, fails', () => {
  assertFails(variant((c) => (c.admin.address.socket_address.address = '0.0.0.0')), /admin listens on 0\.0\.0\.0; bind it to 127\.0\.0\.1/);
  assertFails(variant((c) => hcmOf(c).http_filters.splice(filterIndex(c, 'envoy.filters.http.health_check'), 1)), /no health endpoint for Kubernetes probes/);
  assertFails(variant((c) => (filterOf(c, 'envoy.filters.http.health_check').pass_through_mode = true)), /no health endpoint/);
});

test('a streaming RPC that a timeout can cut off fails', () => {
  const ingest = '/facerec.v1.FaceRecognition/BulkIngest';
  const stream = '/facerec.v1.FaceRecognition/RecognizeStream';
  assertFails(variant((c) => (hcmOf(c).request_timeout = '120s')), /request_timeout 120s would end every streaming RPC/);
  assertFails(variant((c) => (routeFor(c, ingest).route.timeout = '60s')), /BulkIngest: route timeout must be 0s \(found 60s\)/);
  assertFails(variant((c) => delete routeFor(c, stream).route.timeout), /RecognizeStream: route timeout must be 0s \(found unset/);
  assertFails(variant((c) => (routeFor(c, stream).route.max_stream_duration = { max_stream_duration: '600s' })), /RecognizeStream: max_stream_duration 600s/);
  // Without its own idle timeout a stream falls back to the connection's; with neither it never ends.
  assert.deepEqual(variant((c) => delete routeFor(c, stream).route.idle_timeout), []);
  assertFails(variant((c) => { delete routeFor(c, stream).route.idle_timeout; delete hcmOf(c).stream_idle_timeout; }), /RecognizeStream: set an idle_timeout/);
  assertFails(variant((c) => (routeFor(c, ingest).route.idle_timeout = '0s')), /BulkIngest: set an idle_timeout/);
  // Dropping the stream routes leaves them on the unary catch-all and its 60 s.
  assertFails(variant((c) => (hcmOf(c).route_config.virtual_hosts[0].routes = routesOf(c).filter((r) => !r.match.path))), /BulkIngest: route timeout must be 0s \(found 60s\)/);
  assertFails(variant((c) => (filterOf(c, 'envoy.filters.http.grpc_json_transcoder').match_incoming_request_route = true)), /match_incoming_request_route/);
});

test('a body limit below the server\'s largest image as base64 JSON fails', () => {
  assertFails(variant((c) => (filterOf(c, 'envoy.filters.http.grpc_json_transcoder').max_request_body_size = 33554432)), /max_request_body_size 33554432 is below 44804780/);
  assert.deepEqual(variant((c) => (filterOf(c, 'envoy.filters.http.grpc_json_transcoder').max_request_body_size = 44804780)), []);
  // A server configured for larger images needs a larger Envoy limit.
  const config = parse(source) as Json;
  assertFails(checkEnvoyConfig(stringify(config), { ...inputs, serverMaxMessageBytes: 64 * 1024 * 1024 }), /is below 89544024/);
});

test('an unknown field fails', () => {
  assertFails(variant((c) => (filterOf(c, 'envoy.filters.http.grpc_json_transcoder').preserve_names = true)), /key "preserve_names" is unknown/);
  assertFails(variant((c) => (c.static_resources.clusters[0].conect_timeout = '1s')), /key "conect_timeout" is unknown/);
});

test('a wrong @type fails', () => {
  assertFails(variant((c) => (filterOf(c, 'envoy.filters.http.router')['@type'] = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Routr')), /not in the type registry/);
  assertFails(variant((c) => (filterOf(c, 'envoy.filters.http.cors')['@type'] = 'type.googleapis.com/envoy.config.cluster.v3.Cluster')), /not an HTTP filter/);
});

test('a bad enum or duration fails', () => {
  assertFails(variant((c) => (clusterOf(c, 'facerec_grpc').type = 'STRICTER_DNS')), /Cluster\.DiscoveryType/);
  assertFails(variant((c) => (clusterOf(c, 'facerec_grpc').connect_timeout = '2 seconds')), /google\.protobuf\.Duration/);
});

test('the router not last, or filters out of order, fails', () => {
  assertFails(variant((c) => hcmOf(c).http_filters.reverse()), /router must be the last/);
  assertFails(variant((c) => { const f = hcmOf(c).http_filters; const [i, j] = [filterIndex(c, 'envoy.filters.http.cors'), filterIndex(c, 'envoy.filters.http.jwt_authn')]; [f[i], f[j]] = [f[j], f[i]]; }), /cors → envoy\.filters\.http\.jwt_authn/);
});

test('a missing cluster or one without HTTP/2 fails', () => {
  assertFails(variant((c) => (routesOf(c).at(-1)!.route.cluster = 'facerec')), /cluster "facerec", which does not exist/);
  assertFails(variant((c) => delete clusterOf(c, 'facerec_grpc').typed_extension_protocol_options), /"facerec_grpc" .* must speak HTTP\/2/);
  assertFails(variant((c) => (c.static_resources.clusters = c.static_resources.clusters.filter((x: Json) => x.name !== 'otel_collector'))), /tracer envoy\.tracers\.opentelemetry names cluster "otel_collector"/);
});

test('an API cluster that would send every request to one replica fails', () => {
  const config = parse(source) as Json;
  const cluster = clusterOf(config, 'facerec_grpc');
  assert.deepEqual([cluster.type, cluster.lb_policy], ['STRICT_DNS', 'ROUND_ROBIN'], 'one host per pod, the next one each request');
  assert.equal(cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address, 'facerec-pods', 'the headless Service (k8s/base/facerec.yaml)');
  assertFails(variant((c) => (clusterOf(c, 'facerec_grpc').type = 'LOGICAL_DNS')), /"facerec_grpc" .* is LOGICAL_DNS: Envoy would use one address at a time/);
  assertFails(variant((c) => (clusterOf(c, 'facerec_grpc').lb_policy = 'RING_HASH')), /lb_policy RING_HASH/);
  assertFails(variant((c) => delete clusterOf(c, 'facerec_grpc').health_checks), /no health_checks/);
});

test('transcoder: unknown service, missing descriptor, unconverted status fail', () => {
  assertFails(variant((c) => (filterOf(c, 'envoy.filters.http.grpc_json_transcoder').services = ['facerec.v1.Nope'])), /facerec\.v1\.Nope is not in the descriptor set/);
  assertFails(variant((c) => (filterOf(c, 'envoy.filters.http.grpc_json_transcoder').proto_descriptor = '/etc/envoy/other.pb')), /cannot be read/);
  assertFails(variant((c) => (filterOf(c, 'envoy.filters.http.grpc_json_transcoder').convert_grpc_status = false)), /convert_grpc_status/);
});

test('JWKS: a bad inline key, an unknown provider, no preflight bypass or exp not required fails; a good inline key passes', () => {
  const jwks = (text: string) => variant((c) => (filterOf(c, 'envoy.filters.http.jwt_authn').providers.facerec.local_jwks = { inline_string: text }));
  assert.deepEqual(jwks(jwksFromSecret('envoy-config-test-secret-'.padEnd(64, '0'), 'HS512')), []);
  assertFails(jwks('{"keys": ['), /JWKS is not JSON/);
  assertFails(jwks('{"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}]}'), /no "oct"/);
  assertFails(variant((c) => (filterOf(c, 'envoy.filters.http.jwt_authn').rules[4].requires.provider_name = 'other')), /unknown provider "other"/);
  assertFails(variant((c) => (filterOf(c, 'envoy.filters.http.jwt_authn').bypass_cors_preflight = false)), /bypass_cors_preflight/);
  assertFails(variant((c) => delete filterOf(c, 'envoy.filters.http.jwt_authn').providers.facerec.require_expiration), /require_expiration: true/);
});
