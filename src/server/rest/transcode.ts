/**
 * HTTP request ↔ protobuf bytes, the way Envoy's gRPC-JSON transcoder does it:
 * path bindings and (for bodiless verbs) query parameters fill request fields,
 * a `body: "*"` JSON body fills the rest by the proto3 JSON mapping (or, on
 * `/base64` only, a form: form-body.ts), and a
 * google.api.HttpBody request or response passes through untouched.
 */
import { create, fromJson, toBinary, fromBinary, toJson, type DescField, type DescMessage, type FileRegistry, type JsonObject, type JsonValue } from '@bufbuild/protobuf';
import { ScalarType } from '@bufbuild/protobuf';
import type { HttpRule } from './descriptor.js';
import { GatewayError } from './http-status.js';
import { tidyJson } from './json-output.js';

export const HTTP_BODY_TYPE = 'google.api.HttpBody';

export interface IncomingHttp {
  readonly contentType: string;
  readonly body: Buffer;
  readonly query: URLSearchParams;
  readonly bindings: Record<string, string>;
  /** A form body already parsed (form-body.ts): its fields fill the request as query parameters would. */
  readonly form?: ReadonlyArray<readonly [string, string]>;
}

export function isHttpBody(message: DescMessage): boolean {
  return message.typeName === HTTP_BODY_TYPE;
}

/** Builds the serialised request message of `rule`'s method. */
export function encodeRequest(registry: FileRegistry, rule: HttpRule, http: IncomingHttp): Buffer {
  const input = rule.method.input;
  if (isHttpBody(input) && rule.body === '*') {
    const message = create(input, { contentType: http.contentType, data: new Uint8Array(http.body) } as never);
    return Buffer.from(toBinary(input, message));
  }
  const json: JsonObject = {};
  for (const [name, value] of Object.entries(http.bindings)) setPath(input, json, name, value);
  if (rule.body === '') {
    for (const [name, value] of http.query) setPath(input, json, name, value);
  } else if (http.form) {
    for (const [name, value] of http.form) setPath(input, json, name, value);
  } else if (http.body.length > 0) {
    if (!/^application\/json\b/i.test(http.contentType) && http.contentType !== '') {
      throw new GatewayError('unsupportedMediaType', `unsupported media type ${http.contentType}: this route takes application/json`);
    }
    const parsed = parseJson(http.body);
    if (rule.body === '*') {
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new GatewayError('badRequest', 'request body must be a JSON object');
      // The body wins over path bindings on a conflict, as Envoy's default.
      Object.assign(json, parsed);
    } else {
      json[rule.body] = parsed;
    }
  }
  try {
    return Buffer.from(toBinary(input, fromJson(input, json, { registry })));
  } catch (error) {
    throw new GatewayError('badRequest', `invalid ${input.typeName} JSON: ${(error as Error).message}`);
  }
}

export interface OutgoingHttp {
  readonly contentType: string;
  readonly body: Buffer;
}

/** Turns the serialised response into the HTTP body (proto field names, implicit fields printed, floats tidied: json-output.ts). */
export function decodeResponse(registry: FileRegistry, rule: HttpRule, bytes: Buffer): OutgoingHttp {
  const output = rule.method.output;
  const message = fromBinary(output, new Uint8Array(bytes));
  if (isHttpBody(output)) {
    const body = message as unknown as { contentType: string; data: Uint8Array };
    return { contentType: body.contentType || 'application/octet-stream', body: Buffer.from(body.data) };
  }
  const json = tidyJson(output, toJson(output, message, { registry, useProtoFieldName: true, alwaysEmitImplicit: true }));
  return { contentType: 'application/json', body: Buffer.from(JSON.stringify(json)) };
}

function parseJson(body: Buffer): JsonValue {
  try {
    return JSON.parse(body.toString('utf8')) as JsonValue;
  } catch (error) {
    throw new GatewayError('badRequest', `request body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Sets a dotted field path ("filter.name", "page_size") from a string, typed
 * by the field: proto3 JSON takes numbers as strings but booleans only as
 * booleans. Unknown parameters are rejected, as the Envoy config asks
 * (reject_unknown_query_parameters).
 */
function setPath(message: DescMessage, json: JsonObject, path: string, value: string): void {
  const [head, ...rest] = path.split('.');
  const field = findField(message, head!);
  if (!field) throw new GatewayError('badRequest', `unknown parameter "${path}" for ${message.typeName}`);
  const key = field.name;
  if (rest.length > 0) {
    if (field.fieldKind !== 'message') throw new GatewayError('badRequest', `parameter "${path}": ${field.name} is not a message`);
    const child = (json[key] ??= {}) as JsonObject;
    setPath(field.message, child, rest.join('.'), value);
    return;
  }
  const converted = scalarFromString(field, value, path);
  if (field.fieldKind === 'list') {
    const list = (json[key] ??= []) as JsonValue[];
    list.push(converted);
  } else json[key] = converted;
}

function findField(message: DescMessage, name: string): DescField | undefined {
  return message.fields.find((f) => f.name === name || f.jsonName === name);
}

function scalarFromString(field: DescField, value: string, path: string): JsonValue {
  const scalar = field.fieldKind === 'scalar' || field.fieldKind === 'list' ? field.scalar : undefined;
  if (field.fieldKind === 'enum' || (field.fieldKind === 'list' && field.listKind === 'enum')) return value;
  if (scalar === undefined) throw new GatewayError('badRequest', `parameter "${path}" cannot be set from the URL or a form`);
  if (scalar === ScalarType.BOOL) {
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    throw new GatewayError('badRequest', `parameter "${path}" must be true or false`);
  }
  return value;
}

