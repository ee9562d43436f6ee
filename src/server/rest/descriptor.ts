/**
 * Loads the FileDescriptorSet that `npm run gen` writes (envoy/descriptor.pb,
 * the same file Envoy's transcoder reads) into a @bufbuild/protobuf registry.
 * Both the REST gateway and the offline Envoy check read routes from it, so
 * there is one source of truth: the google.api.http rules in proto/.
 */
import { readFileSync } from 'node:fs';
import { createFileRegistry, fromBinary, getOption, type DescExtension, type DescMethod, type DescService, type FileRegistry } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';

export const FACEREC_SERVICE = 'facerec.v1.FaceRecognition';

export function loadDescriptorRegistry(descriptorPath: string): FileRegistry {
  const bytes = readFileSync(descriptorPath);
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, new Uint8Array(bytes)));
}

export type HttpVerb = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpRule {
  readonly method: DescMethod;
  readonly verb: HttpVerb;
  readonly pathTemplate: string;
  /** '' (no body), '*' (whole request) or a top-level field name. */
  readonly body: string;
}

/** The google.api.http rules of one service, additional_bindings included. */
export function httpRulesOf(registry: FileRegistry, serviceName: string): HttpRule[] {
  const service = registry.getService(serviceName);
  if (!service) throw new Error(`service ${serviceName} is not in the descriptor set`);
  const extension = registry.getExtension('google.api.http');
  if (!extension) throw new Error('google.api.http is not in the descriptor set (proto/google/api/annotations.proto missing?)');
  const rules: HttpRule[] = [];
  for (const method of service.methods) {
    const rule = httpOptionOf(method, extension);
    if (!rule) continue;
    for (const r of [rule, ...((rule.additionalBindings as RawRule[] | undefined) ?? [])]) {
      const parsed = parseRule(method, r);
      if (parsed) rules.push(parsed);
    }
  }
  return rules;
}

/** Unary methods of a service that carry no google.api.http rule. */
export function unaryMethodsWithoutRule(registry: FileRegistry, service: DescService): string[] {
  const extension = registry.getExtension('google.api.http');
  return service.methods
    .filter((m) => m.methodKind === 'unary' && (!extension || !httpOptionOf(m, extension)))
    .map((m) => m.name);
}

interface RawRule {
  pattern?: { case?: string; value?: unknown };
  body?: string;
  additionalBindings?: unknown;
}

function httpOptionOf(method: DescMethod, extension: DescExtension): RawRule | undefined {
  const options = method.proto.options;
  if (!options) return undefined;
  const value = getOption(method, extension) as RawRule | undefined;
  return value?.pattern?.case ? value : undefined;
}

function parseRule(method: DescMethod, raw: RawRule): HttpRule | undefined {
  const kind = raw.pattern?.case;
  if (kind === 'custom') {
    const custom = raw.pattern?.value as { kind: string; path: string };
    return { method, verb: custom.kind.toUpperCase() as HttpVerb, pathTemplate: custom.path, body: raw.body ?? '' };
  }
  if (kind === 'get' || kind === 'post' || kind === 'put' || kind === 'patch' || kind === 'delete') {
    return { method, verb: kind.toUpperCase() as HttpVerb, pathTemplate: String(raw.pattern?.value), body: raw.body ?? '' };
  }
  return undefined;
}
