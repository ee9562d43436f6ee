/**
 * Tidies a response's proto3 JSON before the built-in gateway sends it:
 *
 * - `float` fields (scores, similarities, thresholds, boxes, landmarks,
 *   embeddings) are 32-bit on the wire. Printed as JavaScript numbers they show
 *   the float's binary noise (`0.46` arrives as 0.46000000834465027), so each
 *   is printed as the shortest decimal that reads back as the same float32:
 *   nothing is lost, and a client parsing it into a float gets the exact
 *   value the server sent.
 * - `Face.embedding` is left out when empty (no embedding was asked for),
 *   instead of the `"embedding": []` that printing every field would give.
 *
 * The gRPC messages themselves are untouched: a float stays a float on the wire.
 */
import { ScalarType, type DescField, type DescMessage, type JsonObject, type JsonValue } from '@bufbuild/protobuf';

/** Repeated fields left out of the JSON when empty, by full name. */
const OMITTED_WHEN_EMPTY = new Set(['facerec.v1.Face.embedding']);

/** The shortest decimal that is the same float32 as `value` (9 significant digits always are). */
export function shortestFloat32(value: number): number {
  if (!Number.isFinite(value)) return value;
  const single = Math.fround(value);
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(single.toPrecision(digits));
    if (Math.fround(candidate) === single) return candidate;
  }
  return Number(single.toPrecision(9));
}

const roundIfNumber = (value: JsonValue): JsonValue => (typeof value === 'number' ? shortestFloat32(value) : value);

/**
 * Rewrites `json` (proto field names, as the gateway prints it) of a `message`
 * in place and returns it. Well-known types (Struct payloads, Empty) are left
 * as they are: their JSON is not shaped by fields.
 */
export function tidyJson(message: DescMessage, json: JsonValue): JsonValue {
  if (json === null || typeof json !== 'object' || Array.isArray(json) || message.typeName.startsWith('google.protobuf.')) return json;
  for (const field of message.fields) {
    const value = json[field.name];
    if (value === undefined) continue;
    if (Array.isArray(value) && value.length === 0 && OMITTED_WHEN_EMPTY.has(`${message.typeName}.${field.name}`)) {
      delete json[field.name];
      continue;
    }
    json[field.name] = tidyField(field, value);
  }
  return json;
}

function tidyField(field: DescField, value: JsonValue): JsonValue {
  switch (field.fieldKind) {
    case 'scalar':
      return field.scalar === ScalarType.FLOAT ? roundIfNumber(value) : value;
    case 'message':
      return tidyJson(field.message, value);
    case 'list':
      if (!Array.isArray(value)) return value;
      if (field.listKind === 'scalar' && field.scalar === ScalarType.FLOAT) return value.map(roundIfNumber);
      if (field.listKind === 'message') return value.map((item) => tidyJson(field.message, item));
      return value;
    case 'map': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
      const entries = value as JsonObject;
      for (const key of Object.keys(entries)) {
        if (field.mapKind === 'scalar' && field.scalar === ScalarType.FLOAT) entries[key] = roundIfNumber(entries[key]!);
        else if (field.mapKind === 'message') entries[key] = tidyJson(field.message, entries[key]!);
      }
      return entries;
    }
    default:
      return value;
  }
}
