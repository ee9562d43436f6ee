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
import { checkEnvoyConfig, loadEnvoyApiRegistry, readDeployedFile, jwksFromSecret } from '../src/envoy-check/index.js';
import { loadDescriptorRegistry } from '../src/server/rest/descriptor.js';

type Json = Record<string, any>;
const source = readFileSync('envoy/envoy.yaml', 'utf8');
const inputs = { envoyRegistry: loadEnvoyApiRegistry(), appRegistry: loadDescriptorRegistry('envoy/descriptor.pb'), readDeployedFile };

const hcmOf = (c: Json) => c.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
const filterOf = (c: Json, name: string) => hcmOf(c).http_filters.find((f: Json) => f.name === name).typed_config;
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

test('the config has the shape issue 5 asks for', () => {
  const config = parse(source) as Json;
  const transcoder = filterOf(config, 'envoy.filters.http.grpc_json_transcoder');
  assert.deepEqual(transcoder.services, ['facerec.v1.FaceRecognition']);
  assert.equal(transcoder.print_options.always_print_primitive_fields, true);
  assert.ok(transcoder.max_request_body_size >= 16 * 1024 * 1024, 'photos fit');
  const jwt = filterOf(config, 'envoy.filters.http.jwt_authn');
  assert.deepEqual(jwt.rules[0], { match: { path: '/' } }, 'GET / needs no token');
  assert.ok(jwt.rules.some((r: Json) => r.match.prefix === '/grpc.health.v1.Health/' && !r.requires), 'health needs no token');
  assert.equal(jwt.providers.facerec.forward, true, 'the server sees the token too');
  assert.equal(hcmOf(config).tracing.provider.typed_config.service_name, 'envoy-facerec');
  assert.equal(config.admin.address.socket_address.port_value, 9901);
});

test('an unknown field fails', () => {
  assertFails(variant((c) => (filterOf(c, 'envoy.filters.http.grpc_json_transcoder').preserve_names = true)), /key "preserve_names" is unknown/);
  assertFails(variant((c) => (c.static_resources.clusters[0].conect_timeout = '1s')), /key "conect_timeout" is unknown/);
});

test('a wrong @type fails', () => {
  assertFails(variant((c) => (hcmOf(c).http_filters[3].typed_config['@type'] = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Routr')), /not in the type registry/);
  assertFails(variant((c) => (hcmOf(c).http_filters[0].typed_config['@type'] = 'type.googleapis.com/envoy.config.cluster.v3.Cluster')), /not an HTTP filter/);
});

test('a bad enum or duration fails', () => {
  assertFails(variant((c) => (clusterOf(c, 'facerec_grpc').type = 'STRICTER_DNS')), /Cluster\.DiscoveryType/);
  assertFails(variant((c) => (clusterOf(c, 'facerec_grpc').connect_timeout = '2 seconds')), /google\.protobuf\.Duration/);
});

test('the router not last, or filters out of order, fails', () => {
  assertFails(variant((c) => hcmOf(c).http_filters.reverse()), /router must be the last/);
  assertFails(variant((c) => { const f = hcmOf(c).http_filters; [f[0], f[1]] = [f[1], f[0]]; }), /cors → envoy\.filters\.http\.jwt_authn/);
});

test('a missing cluster or one without HTTP/2 fails', () => {
  assertFails(variant((c) => (hcmOf(c).route_config.virtual_hosts[0].routes[0].route.cluster = 'facerec')), /cluster "facerec", which does not exist/);
  assertFails(variant((c) => delete clusterOf(c, 'facerec_grpc').typed_extension_protocol_options), /"facerec_grpc" .* must speak HTTP\/2/);
  assertFails(variant((c) => (c.static_resources.clusters = c.static_resources.clusters.filter((x: Json) => x.name !== 'otel_collector'))), /tracer envoy\.tracers\.opentelemetry names cluster "otel_collector"/);
});

test('transcoder: unknown service, missing descriptor, unconverted status fail', () => {
  assertFails(variant((c) => (filterOf(c, 'envoy.filters.http.grpc_json_transcoder').services = ['facerec.v1.Nope'])), /facerec\.v1\.Nope is not in the descriptor set/);
  assertFails(variant((c) => (filterOf(c, 'envoy.filters.http.grpc_json_transcoder').proto_descriptor = '/etc/envoy/other.pb')), /cannot be read/);
  assertFails(variant((c) => (filterOf(c, 'envoy.filters.http.grpc_json_transcoder').convert_grpc_status = false)), /convert_grpc_status/);
});

test('JWKS: a bad inline key, an unknown provider, or no preflight bypass fails; a good inline key passes', () => {
  const jwks = (text: string) => variant((c) => (filterOf(c, 'envoy.filters.http.jwt_authn').providers.facerec.local_jwks = { inline_string: text }));
  assert.deepEqual(jwks(jwksFromSecret('s3cret', 'HS512')), []);
  assertFails(jwks('{"keys": ['), /JWKS is not JSON/);
  assertFails(jwks('{"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}]}'), /no "oct"/);
  assertFails(variant((c) => (filterOf(c, 'envoy.filters.http.jwt_authn').rules[4].requires.provider_name = 'other')), /unknown provider "other"/);
  assertFails(variant((c) => (filterOf(c, 'envoy.filters.http.jwt_authn').bypass_cors_preflight = false)), /bypass_cors_preflight/);
});
