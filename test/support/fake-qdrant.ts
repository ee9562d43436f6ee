/**
 * A TEST DOUBLE of Qdrant's REST API, in process, on a loopback port.
 *
 * Real Qdrant cannot run on the machines this suite runs on (no binary, no
 * Docker, no network), so this fake stands in at the HTTP boundary: the real
 * `@qdrant/js-client-rest` talks real HTTP/JSON to it. It models only the
 * subset of Qdrant that `QdrantVectorStore` (src/store/qdrant/) uses, with
 * Qdrant's request and response shapes. A run against a real Qdrant
 * (`QDRANT_URL`, src/store/qdrant/adapter.spec.ts) remains the authority:
 * where the two disagree, the fake is wrong.
 *
 *   const qdrant = await startFakeQdrant();
 *   const store = await QdrantVectorStore.connect({ url: qdrant.url, collection: 'faces' });
 *   ...
 *   assert.deepEqual(qdrant.unmodelled, []); // the adapter stayed inside the modelled subset
 *   await qdrant.close();
 *
 * Modelled (paths as the js client builds them, see its generated_api_client.js):
 *   GET  /collections/{name}/exists          collectionExists  -> { exists }
 *   GET  /collections/{name}                 getCollection     -> CollectionInfo
 *   PUT  /collections/{name}                 createCollection  -> true (409 if it exists); keeps shard_number, replication_factor
 *   DELETE /collections/{name}               deleteCollection  -> true
 *   PUT  /collections/{name}/index           createPayloadIndex-> UpdateResult (idempotent)
 *   PUT  /collections/{name}/points          upsert            -> UpdateResult
 *   POST /collections/{name}/points          retrieve          -> Record[] (missing ids omitted)
 *   POST /collections/{name}/points/delete   delete by points or filter
 *   POST /collections/{name}/points/payload  setPayload by points or filter (top-level merge)
 *   POST /collections/{name}/points/scroll   scroll, ordered by id, offset inclusive, next_page_offset
 *   POST /collections/{name}/points/search   search with filter, score_threshold, offset, limit
 *   POST /collections/{name}/points/count    count with filter
 *
 * Semantics follow Qdrant's source (lib/segment): set_payload merges top-level
 * keys (a null value removes the key); Cosine normalises stored and
 * query vectors (a zero vector stays zero) and scores the dot product; Dot
 * scores the raw dot product; scores are f32; `score_threshold` keeps scores
 * strictly better than it; equal scores order by point id, descending (as
 * ScoredPointTies does for larger-is-better metrics). Filters: must (all),
 * should (any; an empty list matches nothing), must_not (none), a condition may
 * itself be a filter; field conditions support `match: { value }` only, where a
 * value is a string, an integer or a boolean and matches a stored value of the
 * same JSON type (any element of a stored array). Keys are Qdrant JSON paths
 * (`a.b`, `"quoted"`, `a[0]`, `a[].b`). Point ids are unsigned integers or
 * UUIDs (any form the Rust uuid crate parses; echoed back hyphenated,
 * lowercase); integers sort before UUIDs.
 *
 * Deliberate simplifications: writes apply before the response whatever
 * `wait` says (`wait=false` answers "acknowledged"); search is always exact
 * (Qdrant's HNSW is approximate on large collections); one segment; no auth.
 * Anything else Qdrant has (named/sparse vectors, range/geo/any/except/text
 * conditions, has_id, nested, min_should, order_by, batch upserts, payload
 * `key`, Euclid/Manhattan...) answers 501 and is listed in `unmodelled`, so
 * a test cannot silently rely on behaviour the fake does not have.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { dot } from '../../src/embedding.js';

export interface FakeQdrant {
  /** http://127.0.0.1:PORT, for QdrantClient({ url }). */
  readonly url: string;
  /** "METHOD /path: what" for every request that used a route or feature the fake does not model. */
  readonly unmodelled: readonly string[];
  /** Stops listening and drops every keep-alive connection. Idempotent. */
  close(): Promise<void>;
}

type PointId = number | string;
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
type Distance = 'Cosine' | 'Dot';

interface StoredPoint {
  readonly id: PointId;
  readonly vector: Float32Array;
  payload: JsonObject;
  version: number;
}

interface Collection {
  readonly name: string;
  readonly size: number;
  readonly distance: Distance;
  /** As created; the fake keeps one copy of everything whatever these say. */
  readonly shardNumber: number;
  readonly replicationFactor: number;
  readonly points: Map<string, StoredPoint>;
  /** Indexed payload fields and their schema type. */
  readonly payloadSchema: Map<string, string>;
  operationId: number;
}

class QdrantError extends Error {
  constructor(
    readonly httpStatus: number,
    message: string,
  ) {
    super(message);
  }
}

class Unmodelled extends Error {}

const badRequest = (message: string) => new QdrantError(400, message);
const formatError = (detail: string) => badRequest(`Format error in JSON body: ${detail}`);
const validationError = (detail: string) => badRequest(`Validation error in JSON body: [${detail}]`);
const collectionNotFound = (name: string) => new QdrantError(404, `Not found: Collection \`${name}\` doesn't exist!`);
const unmodelled = (what: string) => new Unmodelled(what);

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clone<T extends Json>(v: T): T {
  return structuredClone(v);
}

// ---------------------------------------------------------------- point ids

const UUID_HYPHENATED = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i;
const UUID_SIMPLE = /^[0-9a-f]{32}$/i;

/** The forms uuid::Uuid::parse_str accepts: simple, hyphenated, braced, urn. */
function parseUuid(s: string): string | undefined {
  let body = s;
  if (/^urn:uuid:/i.test(body)) body = body.slice(9);
  else if (body.startsWith('{') && body.endsWith('}')) body = body.slice(1, -1);
  let hex: string;
  if (UUID_HYPHENATED.test(body)) hex = body.replace(/-/g, '');
  else if (UUID_SIMPLE.test(body) && body === s) hex = body;
  else return undefined;
  hex = hex.toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function parsePointId(raw: unknown): PointId {
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0) return raw;
  if (typeof raw === 'string') {
    const uuid = parseUuid(raw);
    if (uuid !== undefined) return uuid;
  }
  const shown = typeof raw === 'string' ? raw : JSON.stringify(raw);
  throw formatError(`value ${shown} is not a valid point ID, valid values are either an unsigned integer or a UUID`);
}

function idKey(id: PointId): string {
  return typeof id === 'number' ? `n${id}` : `u${id}`;
}

/** ExtendedPointId's derived order: NumId < Uuid; numbers numerically, UUIDs by bytes. */
function compareIds(a: PointId, b: PointId): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------- JSON paths

type PathItem = { key: string } | { index: number } | { wildcard: true };
interface JsonPath {
  readonly first: string;
  readonly rest: readonly PathItem[];
}

/** Qdrant's json_path grammar: raw (alphanumeric, _ and -) or "quoted" keys, .key, [n], []. */
function parseJsonPath(s: unknown): JsonPath {
  if (typeof s !== 'string') throw formatError(`invalid type: ${JSON.stringify(s)}, expected a string`);
  const raw = /^[\p{L}\p{N}_-]+/u;
  const quoted = /^"([^"\\]*)"/;
  let rest = s;
  const take = (): string | undefined => {
    const q = quoted.exec(rest);
    if (q) {
      rest = rest.slice(q[0].length);
      return q[1];
    }
    const r = raw.exec(rest);
    if (r) {
      rest = rest.slice(r[0].length);
      return r[0];
    }
    return undefined;
  };
  const first = take();
  const items: PathItem[] = [];
  while (first !== undefined && rest.length > 0) {
    if (rest.startsWith('[]')) {
      items.push({ wildcard: true });
      rest = rest.slice(2);
      continue;
    }
    const idx = /^\[(\d+)\]/.exec(rest);
    if (idx) {
      items.push({ index: Number(idx[1]) });
      rest = rest.slice(idx[0].length);
      continue;
    }
    if (rest.startsWith('.')) {
      rest = rest.slice(1);
      const key = take();
      if (key === undefined) break;
      items.push({ key });
      continue;
    }
    break;
  }
  if (first === undefined || rest.length > 0) throw formatError(`Invalid json path \`${s}\``);
  return { first, rest: items };
}

/** json_path/get.rs: descend objects by key, arrays by [n] / [], never implicitly. */
function getValues(payload: JsonObject, path: JsonPath): Json[] {
  const out: Json[] = [];
  const walk = (items: readonly PathItem[], value: Json | undefined): void => {
    if (value === undefined) return;
    const [head, ...tail] = items;
    if (!head) {
      out.push(value);
      return;
    }
    if ('key' in head) {
      if (isObject(value)) walk(tail, value[head.key]);
    } else if ('index' in head) {
      if (Array.isArray(value)) walk(tail, value[head.index]);
    } else if (Array.isArray(value)) {
      for (const v of value) walk(tail, v);
    }
  };
  walk(path.rest, payload[path.first]);
  return out;
}

// ---------------------------------------------------------------- filters

type Predicate = (point: StoredPoint) => boolean;

const CONDITION_MISMATCH = 'data did not match any variant of untagged enum Condition';

function conditionList(raw: Json | undefined, clause: string): Predicate[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  // Qdrant accepts one condition or a list (MaybeOneOrMany).
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((c) => compileCondition(c, clause));
}

function compileFilter(raw: Json | undefined): Predicate {
  if (raw === undefined || raw === null) return () => true;
  if (!isObject(raw)) throw formatError('invalid type: expected struct Filter');
  if (raw.min_should !== undefined && raw.min_should !== null) throw unmodelled('filter min_should');
  const must = conditionList(raw.must, 'must');
  const should = conditionList(raw.should, 'should');
  const mustNot = conditionList(raw.must_not, 'must_not');
  return (p) =>
    (should === undefined || should.some((c) => c(p))) &&
    (must === undefined || must.every((c) => c(p))) &&
    (mustNot === undefined || mustNot.every((c) => !c(p)));
}

const FILTER_KEYS = new Set(['must', 'should', 'must_not', 'min_should']);
const UNMODELLED_CONDITIONS = ['is_empty', 'is_null', 'has_id', 'has_vector', 'nested'];
const UNMODELLED_FIELD_CONDITIONS = ['range', 'geo_bounding_box', 'geo_radius', 'geo_polygon', 'values_count', 'is_empty', 'is_null'];
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

function compileCondition(raw: Json, clause: string): Predicate {
  if (!isObject(raw)) throw formatError(CONDITION_MISMATCH);
  if ('key' in raw) {
    const path = parseJsonPath(raw.key);
    for (const k of UNMODELLED_FIELD_CONDITIONS) if (raw[k] !== undefined && raw[k] !== null) throw unmodelled(`field condition \`${k}\``);
    const match = raw.match;
    if (match === undefined || match === null) throw validationError(`${clause}: At least one field condition must be specified`);
    if (!isObject(match)) throw formatError(CONDITION_MISMATCH);
    if (!('value' in match)) {
      const kind = Object.keys(match)[0] ?? '{}';
      if (['any', 'except', 'text', 'text_any', 'phrase'].includes(kind)) throw unmodelled(`match \`${kind}\``);
      throw formatError(CONDITION_MISMATCH);
    }
    const value = match.value;
    // ValueVariants is String | Integer(i64) | Bool: a float (or anything else) fails to parse.
    const ok =
      typeof value === 'string' ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isInteger(value) && BigInt(value) >= I64_MIN && BigInt(value) <= I64_MAX);
    if (!ok) throw formatError(CONDITION_MISMATCH);
    const matchOne = (stored: Json): boolean => {
      if (typeof value === 'number') return typeof stored === 'number' && Number.isInteger(stored) && stored === value;
      return typeof stored === typeof value && stored === value;
    };
    return (p) => getValues(p.payload, path).some((v) => (Array.isArray(v) ? v.some(matchOne) : matchOne(v)));
  }
  for (const k of UNMODELLED_CONDITIONS) if (k in raw) throw unmodelled(`condition \`${k}\``);
  if (Object.keys(raw).every((k) => FILTER_KEYS.has(k))) return compileFilter(raw);
  throw formatError(CONDITION_MISMATCH);
}

// ---------------------------------------------------------------- vectors

function parseVector(raw: Json | undefined, size: number, what: string): number[] {
  if (isObject(raw)) throw unmodelled(`named or sparse ${what}`);
  if (!Array.isArray(raw)) throw formatError(`invalid type: expected a ${what}`);
  if (Array.isArray(raw[0])) throw unmodelled(`multi-vector ${what}`);
  for (const x of raw) if (typeof x !== 'number') throw formatError(`invalid type: ${JSON.stringify(x)}, expected f32`);
  if (raw.length !== size) throw badRequest(`Wrong input: Vector dimension error: expected dim: ${size}, got ${raw.length}`);
  return raw as number[];
}

/** As Qdrant stores it: f32, and unit length for Cosine (a near-zero vector is left as is). */
function preprocess(v: readonly number[], distance: Distance): Float32Array {
  const out = Float32Array.from(v);
  if (distance === 'Cosine') {
    let sum = 0;
    for (const x of out) sum += x * x;
    const length = Math.fround(Math.sqrt(sum));
    if (length >= 1.1920929e-7) for (let i = 0; i < out.length; i++) out[i] = out[i]! / length;
  }
  return out;
}

function score(a: Float32Array, b: Float32Array): number {
  return Math.fround(dot(a, b));
}

// ---------------------------------------------------------------- payload / vector selection

function select(payload: JsonObject, withPayload: Json | undefined, fallback: boolean): JsonObject | undefined {
  const spec = withPayload === undefined || withPayload === null ? fallback : withPayload;
  if (spec === true) return clone(payload);
  if (spec === false) return undefined;
  let include: Json[] | undefined;
  let exclude: Json[] | undefined;
  if (Array.isArray(spec)) include = spec;
  else if (isObject(spec) && Array.isArray(spec.include)) include = spec.include;
  else if (isObject(spec) && Array.isArray(spec.exclude)) exclude = spec.exclude;
  else throw formatError('data did not match any variant of untagged enum WithPayloadInterface');
  const paths = (include ?? exclude ?? []).map(parseJsonPath);
  if (paths.some((p) => p.rest.some((i) => !('key' in i)))) throw unmodelled('with_payload paths through arrays');
  const keysOf = (p: JsonPath) => [p.first, ...p.rest.map((i) => (i as { key: string }).key)];
  if (include) {
    const out: JsonObject = {};
    for (const p of paths) {
      const [value] = getValues(payload, p);
      if (value === undefined) continue;
      const keys = keysOf(p);
      let at = out;
      for (const k of keys.slice(0, -1)) at = isObject(at[k]) ? (at[k] as JsonObject) : (at[k] = {});
      at[keys[keys.length - 1]!] = clone(value);
    }
    return out;
  }
  const out = clone(payload);
  for (const p of paths) {
    const keys = keysOf(p);
    let at: Json | undefined = out;
    for (const k of keys.slice(0, -1)) at = isObject(at) ? at[k] : undefined;
    if (isObject(at)) delete at[keys[keys.length - 1]!];
  }
  return out;
}

function withVector(point: StoredPoint, raw: Json | undefined): number[] | undefined {
  if (raw === undefined || raw === null || raw === false) return undefined;
  if (raw === true) return Array.from(point.vector);
  throw unmodelled('with_vector by vector name');
}

function record(point: StoredPoint, body: JsonObject, payloadDefault: boolean): JsonObject {
  const payload = select(point.payload, body.with_payload, payloadDefault);
  const vector = withVector(point, body.with_vector);
  return { id: point.id, ...(payload !== undefined ? { payload } : {}), ...(vector !== undefined ? { vector } : {}) };
}

// ---------------------------------------------------------------- the server

function positiveInt(raw: Json | undefined, field: string, fallback?: number): number {
  if (raw === undefined || raw === null) {
    if (fallback === undefined) throw formatError(`missing field \`${field}\``);
    return fallback;
  }
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0) throw formatError(`invalid value: ${JSON.stringify(raw)}, expected usize`);
  if (raw < 1) throw validationError(`${field}: value ${raw} invalid, must be 1 or larger`);
  return raw;
}

function rejectPresent(body: JsonObject, fields: readonly string[]): void {
  for (const f of fields) if (body[f] !== undefined && body[f] !== null) throw unmodelled(`request field \`${f}\``);
}

export async function startFakeQdrant(): Promise<FakeQdrant> {
  const collections = new Map<string, Collection>();
  const unmodelledLog: string[] = [];

  const need = (name: string): Collection => {
    const c = collections.get(name);
    if (!c) throw collectionNotFound(name);
    return c;
  };

  const updated = (c: Collection, query: URLSearchParams): JsonObject => {
    c.operationId++;
    const wait = query.get('wait');
    if (wait !== null && wait !== 'true' && wait !== 'false') throw badRequest(`Query deserialize error: provided string was not \`true\` or \`false\``);
    return { operation_id: c.operationId, status: wait === 'true' ? 'completed' : 'acknowledged' };
  };

  const matching = (c: Collection, filter: Json | undefined): StoredPoint[] => {
    const pred = compileFilter(filter);
    return [...c.points.values()].filter(pred).sort((a, b) => compareIds(a.id, b.id));
  };

  const collectionInfo = (c: Collection): JsonObject => {
    const payloadSchema: JsonObject = {};
    for (const [field, type] of c.payloadSchema) {
      const path = parseJsonPath(field);
      let points = 0;
      for (const p of c.points.values()) if (getValues(p.payload, path).length > 0) points++;
      payloadSchema[field] = { data_type: type, points };
    }
    return {
      status: 'green',
      optimizer_status: 'ok',
      indexed_vectors_count: 0,
      points_count: c.points.size,
      segments_count: 1,
      config: {
        params: {
          vectors: { size: c.size, distance: c.distance },
          shard_number: c.shardNumber,
          replication_factor: c.replicationFactor,
          write_consistency_factor: 1,
          on_disk_payload: true,
        },
        hnsw_config: { m: 16, ef_construct: 100, full_scan_threshold: 10000, max_indexing_threads: 0, on_disk: false },
        optimizer_config: {
          deleted_threshold: 0.2,
          vacuum_min_vector_number: 1000,
          default_segment_number: 0,
          max_segment_size: null,
          memmap_threshold: null,
          indexing_threshold: 10000,
          flush_interval_sec: 5,
          max_optimization_threads: null,
        },
        wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0 },
        quantization_config: null,
      },
      payload_schema: payloadSchema,
    };
  };

  type Handler = (name: string, body: JsonObject, query: URLSearchParams) => Json;
  const routes: Record<string, Handler> = {
    'GET /exists': (name) => ({ exists: collections.has(name) }),

    'GET ': (name) => collectionInfo(need(name)),

    // deleteCollection: Qdrant answers true (404 for a missing one).
    'DELETE ': (name) => {
      need(name);
      collections.delete(name);
      return true;
    },

    'PUT ': (name, body) => {
      if (collections.has(name)) throw new QdrantError(409, `Wrong input: Collection \`${name}\` already exists!`);
      if (name.length === 0 || name.length > 255 || /[<>:"/\\|?*\0\u0001-\u001f]/.test(name)) {
        throw validationError(`collection_name: collection name cannot contain reserved characters`);
      }
      rejectPresent(body, ['sparse_vectors', 'sharding_method', 'init_from']);
      const vectors = body.vectors;
      if (vectors === undefined || vectors === null) throw unmodelled('collection without a dense vector');
      if (!isObject(vectors)) throw formatError('data did not match any variant of untagged enum VectorsConfig');
      if (!('size' in vectors) && !('distance' in vectors)) throw unmodelled('named vectors');
      const size = positiveInt(vectors.size, 'vectors.size');
      const distance = vectors.distance;
      if (distance === 'Euclid' || distance === 'Manhattan') throw unmodelled(`distance ${distance}`);
      if (distance !== 'Cosine' && distance !== 'Dot') {
        throw formatError(`unknown variant \`${String(distance)}\`, expected one of \`Cosine\`, \`Euclid\`, \`Dot\`, \`Manhattan\``);
      }
      rejectPresent(vectors, ['multivector_config', 'datatype']);
      // Qdrant defaults both to 1 (shard_number: 1 per node in a cluster; not modelled).
      const shardNumber = positiveInt(body.shard_number, 'shard_number', 1);
      const replicationFactor = positiveInt(body.replication_factor, 'replication_factor', 1);
      collections.set(name, { name, size, distance, shardNumber, replicationFactor, points: new Map(), payloadSchema: new Map(), operationId: 0 });
      return true;
    },

    'PUT /index': (name, body, query) => {
      const c = need(name);
      parseJsonPath(body.field_name);
      const schema = body.field_schema;
      const type = isObject(schema) ? schema.type : schema;
      const types = ['keyword', 'integer', 'float', 'geo', 'text', 'bool', 'datetime', 'uuid'];
      if (typeof type !== 'string' || !types.includes(type)) throw formatError(`unknown variant \`${String(type)}\``);
      // Indexing changes no result for the conditions the fake models; Qdrant re-creating one is a no-op.
      c.payloadSchema.set(body.field_name as string, type);
      return updated(c, query);
    },

    'PUT /points': (name, body, query) => {
      const c = need(name);
      if ('batch' in body) throw unmodelled('batch upsert');
      rejectPresent(body, ['shard_key', 'update_filter', 'update_mode']);
      if (!Array.isArray(body.points)) throw formatError('data did not match any variant of untagged enum PointInsertOperations');
      // Validate the whole batch first: Qdrant declines the operation, it does not half-apply it.
      const incoming = body.points.map((raw) => {
        if (!isObject(raw)) throw formatError('invalid type: expected struct PointStruct');
        const id = parsePointId(raw.id);
        const vector = preprocess(parseVector(raw.vector, c.size, 'vector'), c.distance);
        if (raw.payload !== undefined && raw.payload !== null && !isObject(raw.payload)) throw formatError('invalid type: expected a map');
        return { id, vector, payload: isObject(raw.payload) ? clone(raw.payload) : {} };
      });
      const result = updated(c, query);
      for (const p of incoming) c.points.set(idKey(p.id), { ...p, version: c.operationId });
      return result;
    },

    'POST /points': (name, body) => {
      const c = need(name);
      rejectPresent(body, ['shard_key']);
      if (!Array.isArray(body.ids)) throw formatError('missing field `ids`');
      const seen = new Set<string>();
      const out: Json[] = [];
      for (const raw of body.ids) {
        const key = idKey(parsePointId(raw));
        const point = c.points.get(key);
        if (point && !seen.has(key)) out.push(record(point, body, true));
        seen.add(key);
      }
      return out;
    },

    'POST /points/delete': (name, body, query) => {
      const c = need(name);
      rejectPresent(body, ['shard_key']);
      let targets: string[];
      if (Array.isArray(body.points)) targets = body.points.map((raw) => idKey(parsePointId(raw)));
      else if (isObject(body.filter)) targets = matching(c, body.filter).map((p) => idKey(p.id));
      else throw formatError('data did not match any variant of untagged enum PointsSelector');
      const result = updated(c, query);
      for (const key of targets) c.points.delete(key);
      return result;
    },

    'POST /points/payload': (name, body, query) => {
      const c = need(name);
      rejectPresent(body, ['shard_key', 'key']);
      if (!isObject(body.payload)) throw formatError('missing field `payload`');
      const hasPoints = body.points !== undefined && body.points !== null;
      const hasFilter = body.filter !== undefined && body.filter !== null;
      if (hasPoints === hasFilter) throw badRequest('Bad request: Either list of point ids or filter must be provided');
      let targets: StoredPoint[];
      if (hasPoints) {
        if (!Array.isArray(body.points)) throw formatError('invalid type: expected a sequence');
        targets = body.points.map((raw) => {
          const id = parsePointId(raw);
          const point = c.points.get(idKey(id));
          if (!point) throw new QdrantError(404, `Not found: No point with id ${String(id)} found`);
          return point;
        });
      } else {
        targets = matching(c, body.filter);
      }
      const result = updated(c, query);
      // Payload::merge (utils::merge_map): each given top-level key replaces that key's whole
      // value; a null removes the key.
      for (const p of targets) {
        for (const [key, value] of Object.entries(body.payload)) {
          if (value === null) delete p.payload[key];
          else p.payload[key] = clone(value);
        }
        p.version = c.operationId;
      }
      return result;
    },

    'POST /points/scroll': (name, body) => {
      const c = need(name);
      rejectPresent(body, ['shard_key', 'order_by']);
      const limit = positiveInt(body.limit, 'limit', 10);
      const offset = body.offset === undefined || body.offset === null ? undefined : parsePointId(body.offset);
      const all = matching(c, body.filter);
      const from = offset === undefined ? 0 : all.findIndex((p) => compareIds(p.id, offset) >= 0);
      const page = from < 0 ? [] : all.slice(from, from + limit + 1);
      const next = page.length > limit ? page.pop()! : undefined;
      return { points: page.map((p) => record(p, body, true)), next_page_offset: next ? next.id : null };
    },

    'POST /points/search': (name, body) => {
      const c = need(name);
      rejectPresent(body, ['shard_key']);
      // `params` (hnsw_ef, exact, quantization) tunes an approximate search; the fake is always exact.
      const query = preprocess(parseVector(body.vector, c.size, 'vector'), c.distance);
      const limit = positiveInt(body.limit, 'limit');
      const offset = body.offset === undefined || body.offset === null ? 0 : body.offset;
      if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) throw formatError('invalid value for `offset`, expected usize');
      const threshold = body.score_threshold;
      if (threshold !== undefined && threshold !== null && typeof threshold !== 'number') throw formatError('invalid type for `score_threshold`, expected f32');
      const f32Threshold = typeof threshold === 'number' ? Math.fround(threshold) : undefined;
      const pred = compileFilter(body.filter);
      const scored: { point: StoredPoint; score: number }[] = [];
      for (const point of c.points.values()) {
        if (!pred(point)) continue;
        const s = score(query, point.vector);
        // Distance::check_threshold for larger-is-better metrics: strictly better than the threshold.
        if (f32Threshold !== undefined && !(s > f32Threshold)) continue;
        scored.push({ point, score: s });
      }
      scored.sort((a, b) => b.score - a.score || compareIds(b.point.id, a.point.id));
      return scored.slice(offset, offset + limit).map(({ point, score: s }) => {
        const payload = select(point.payload, body.with_payload, false);
        const vector = withVector(point, body.with_vector);
        return {
          id: point.id,
          version: point.version,
          score: s,
          ...(payload !== undefined ? { payload } : {}),
          ...(vector !== undefined ? { vector } : {}),
        };
      });
    },

    'POST /points/count': (name, body) => {
      const c = need(name);
      rejectPresent(body, ['shard_key']);
      // `exact: false` is allowed to be approximate; an exact count is a valid answer to both.
      return { count: matching(c, body.filter).length };
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = process.hrtime.bigint();
    const time = () => Number(process.hrtime.bigint() - started) / 1e9;
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://fake-qdrant');
    const send = (status: number, payload: JsonObject) => {
      const text = JSON.stringify(payload);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    try {
      const m = /^\/collections\/([^/]+)(\/.*)?$/.exec(url.pathname);
      const handler = m ? routes[`${method} ${m[2] ?? ''}`] : undefined;
      if (!m || !handler) throw unmodelled('route');
      let body: JsonObject = {};
      if (method === 'PUT' || method === 'POST') {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (err) {
          throw formatError((err as Error).message);
        }
        if (!isObject(parsed)) throw formatError(`invalid type: ${JSON.stringify(parsed)}, expected a map`);
        body = parsed;
      }
      const result = handler(decodeURIComponent(m[1]!), body, url.searchParams);
      send(200, { result, status: 'ok', time: time() });
    } catch (err) {
      if (err instanceof QdrantError) {
        send(err.httpStatus, { status: { error: err.message }, time: time() });
      } else if (err instanceof Unmodelled) {
        const line = `${method} ${url.pathname}: ${err.message}`;
        unmodelledLog.push(line);
        send(501, { status: { error: `fake-qdrant does not model ${line}` }, time: time() });
      } else {
        send(500, { status: { error: `Service internal error: ${(err as Error)?.message ?? String(err)}` }, time: time() });
      }
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.destroy(err as Error);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    unmodelled: unmodelledLog,
    close: () =>
      (closed ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      })),
  };
}
