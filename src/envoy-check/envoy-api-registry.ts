/**
 * A registry of Envoy's own v3 API types, built offline from the protos that
 * the npm package @grpc/grpc-js-xds ships (deps/envoy-api, xds, googleapis,
 * protoc-gen-validate) with `buf build`, and cached under .tmp/ (git-ignored)
 * so later checks take milliseconds.
 *
 * That copy of validate.proto predates `StringRules.ignore_empty` (field 26),
 * which Envoy's protocol.proto uses, so a patched copy goes into the temporary
 * workspace; node_modules stays untouched.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFileRegistry, fromBinary, type FileRegistry } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Everything a facerec envoy.yaml may reference via `@type`: bootstrap, HTTP/network filters, upstream options, OTel tracer. */
const BUILD_PATHS = [
  'envoy-api/envoy/config/bootstrap/v3',
  'envoy-api/envoy/extensions/filters/http',
  'envoy-api/envoy/extensions/filters/network',
  'envoy-api/envoy/extensions/upstreams',
  'envoy-api/envoy/extensions/transport_sockets',
  'envoy-api/envoy/config/trace/v3/opentelemetry.proto',
];

export interface EnvoyApiOptions {
  /** Where the built descriptor set and the buf workspace live; default <repo>/.tmp/envoy-check. */
  readonly cacheDir?: string;
  /** Rebuild even when a cached set exists. */
  readonly rebuild?: boolean;
}

export function loadEnvoyApiRegistry(options: EnvoyApiOptions = {}): FileRegistry {
  const xdsDir = join(REPO_ROOT, 'node_modules/@grpc/grpc-js-xds');
  const version = (JSON.parse(readFileSync(join(xdsDir, 'package.json'), 'utf8')) as { version: string }).version;
  const cacheDir = options.cacheDir ?? join(REPO_ROOT, '.tmp/envoy-check');
  const cached = join(cacheDir, `envoy-api-${version}.binpb`);
  if (options.rebuild || !existsSync(cached)) buildDescriptorSet(join(xdsDir, 'deps'), cacheDir, cached);
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, new Uint8Array(readFileSync(cached))));
}

function buildDescriptorSet(depsDir: string, cacheDir: string, output: string): void {
  // Per-process workspace and an atomic rename: concurrent test runs may build at once.
  const workspace = join(cacheDir, `workspace-${process.pid}`);
  rmSync(workspace, { recursive: true, force: true });
  mkdirSync(join(workspace, 'validate-patched/validate'), { recursive: true });
  for (const name of ['envoy-api', 'xds', 'googleapis']) symlinkSync(join(depsDir, name), join(workspace, name));
  const validate = readFileSync(join(depsDir, 'protoc-gen-validate/validate/validate.proto'), 'utf8');
  writeFileSync(join(workspace, 'validate-patched/validate/validate.proto'), patchValidateProto(validate));
  writeFileSync(
    join(workspace, 'buf.yaml'),
    ['version: v2', 'modules:', ...['envoy-api', 'xds', 'googleapis', 'validate-patched'].map((m) => `  - path: ${m}`), ''].join('\n'),
  );
  const buf = join(REPO_ROOT, 'node_modules/.bin/buf');
  const partial = resolve(`${output}.${process.pid}.tmp`);
  const args = ['build', '-o', partial, ...BUILD_PATHS.flatMap((p) => ['--path', p])];
  try {
    execFileSync(buf, args, { cwd: workspace, stdio: ['ignore', 'pipe', 'pipe'] });
    renameSync(partial, output);
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '');
    throw new Error(`buf build of Envoy's API protos failed:\n${stderr || String(error)}`);
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
}

/** Adds `optional bool ignore_empty = 26;` to StringRules when it is missing. */
export function patchValidateProto(source: string): string {
  const start = source.indexOf('message StringRules {');
  if (start < 0) throw new Error('validate.proto has no StringRules message');
  const end = source.indexOf('\n}', start);
  if (/ignore_empty\s*=\s*26/.test(source.slice(start, end))) return source;
  const open = source.indexOf('{', start) + 1;
  return `${source.slice(0, open)}\n    // Added by facerec's Envoy check: Envoy's protocol.proto needs it.\n    optional bool ignore_empty = 26;\n${source.slice(open)}`;
}
