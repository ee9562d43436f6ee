import { parseArgs } from 'node:util';
import { FacerecError } from '../errors.js';
import { CONFIG_SCHEMA, type AuthConfig, type Config, type SettingSpec } from './schema.js';

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** CLI arguments after the command, e.g. ['--grpc-port', '0']. Unknown flags are errors. */
  argv?: readonly string[];
  /** Values that win over env and argv (tests use this). Nested like Config. */
  overrides?: DeepPartial<Config>;
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends readonly unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

function isSpec(node: unknown): node is SettingSpec {
  return typeof node === 'object' && node !== null && 'env' in node && 'type' in node;
}

/** Every setting with its dotted path, in schema order (used by the README test too). */
export function listSettings(node: object = CONFIG_SCHEMA, prefix = ''): Array<{ path: string; spec: SettingSpec }> {
  const out: Array<{ path: string; spec: SettingSpec }> = [];
  for (const [key, child] of Object.entries(node)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (isSpec(child)) out.push({ path, spec: child });
    else out.push(...listSettings(child as object, path));
  }
  return out;
}

/** A setting's command-line flag as a util.parseArgs option; `description` is for `--help`. */
export interface SettingFlagOption {
  readonly type: 'string';
  readonly description: string;
  /** What the value is, for a usage line: `int`, `number`, `string`, … or the choices. */
  readonly valueName: string;
}

/** The settings that have a flag, keyed by the flag's name without its dashes (`grpc-port`). */
export function settingFlagOptions(): Record<string, SettingFlagOption> {
  const options: Record<string, SettingFlagOption> = {};
  for (const { spec } of listSettings()) {
    if (spec.flag) options[spec.flag.replace(/^--/, '')] = { type: 'string', description: spec.description, valueName: spec.choices?.join('|') ?? spec.type };
  }
  return options;
}

/**
 * The flag values in argv, by flag (`--grpc-port`). Parsed leniently
 * (`strict: false`) so that every unknown flag or stray argument is one more
 * problem in the single startup error rather than the end of parsing.
 */
function readFlags(argv: readonly string[], problems: string[]): Map<string, string> {
  const options = settingFlagOptions();
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const known = new Set(Object.keys(options));
  const values = new Map<string, string>();
  let valueOfUnknown = -1;
  for (const token of tokens) {
    if (token.kind === 'option' && !known.has(token.name)) {
      problems.push(`unknown option ${token.rawName}`);
      // `--nope 1`: the 1 belongs to the unknown flag, not a problem of its own.
      if (token.value === undefined) valueOfUnknown = token.index + 1;
    } else if (token.kind === 'option') {
      if (token.value === undefined) problems.push(`${token.rawName} needs a value`);
      else values.set(`--${token.name}`, token.value);
    } else if (token.kind === 'positional' && token.index !== valueOfUnknown) {
      problems.push(`unexpected argument ${JSON.stringify(token.value)}`);
    }
  }
  return values;
}

function parseValue(spec: SettingSpec, raw: string, source: string, problems: string[]): unknown {
  switch (spec.type) {
    case 'int':
    case 'number': {
      const value = Number(raw.trim());
      if (raw.trim() === '' || !Number.isFinite(value) || (spec.type === 'int' && !Number.isInteger(value))) {
        problems.push(`${source}: expected ${spec.type === 'int' ? 'an integer' : 'a number'}, got ${JSON.stringify(raw)}`);
        return undefined;
      }
      if (spec.min !== undefined && value < spec.min) problems.push(`${source}: ${value} is below the minimum ${spec.min}`);
      if (spec.max !== undefined && value > spec.max) problems.push(`${source}: ${value} is above the maximum ${spec.max}`);
      return value;
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      problems.push(`${source}: expected true or false, got ${JSON.stringify(raw)}`);
      return undefined;
    }
    case 'list':
      return Object.freeze(raw.split(',').map((part) => part.trim()).filter(Boolean));
    case 'string':
      if (spec.choices && !spec.choices.includes(raw)) {
        problems.push(`${source}: expected one of ${spec.choices.join(', ')}, got ${JSON.stringify(raw)}`);
      }
      return raw;
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

function getPath(source: unknown, path: string): unknown {
  let node = source;
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * Parses env and argv against the schema once. Every problem is reported in a
 * single CONFIG_INVALID error, as fastify's initial-config validation does.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const argv = options.argv ?? [];
  const settings = listSettings();
  const problems: string[] = [];

  const flagValues = readFlags(argv, problems);

  const config: Record<string, unknown> = {};
  for (const { path, spec } of settings) {
    let value: unknown = spec.default;
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv !== '') value = parseValue(spec, fromEnv, spec.env, problems);
    const fromFlag = spec.flag ? flagValues.get(spec.flag) : undefined;
    if (fromFlag !== undefined) value = parseValue(spec, fromFlag, spec.flag!, problems);
    const override = getPath(options.overrides, path);
    if (override !== undefined) value = override;
    setPath(config, path, value);
  }

  // Rules that span settings. An AUTH_ALGORITHM that failed to parse has no
  // minimum key length, so it is reported once, above, and not again here.
  problems.push(...authProblems((config as unknown as Config).auth));
  if (problems.length > 0) {
    throw new FacerecError('CONFIG_INVALID', problems.join('; '), { details: { problems } });
  }
  return deepFreeze(config) as unknown as Config;
}

/**
 * The shortest HMAC key each algorithm accepts: as many bytes as its hash
 * output (RFC 7518 section 3.2). A shorter key makes the token signature no
 * stronger than the key, however long the hash.
 */
export const MIN_SECRET_BYTES: Readonly<Record<string, number>> = { HS256: 32, HS384: 48, HS512: 64 };

/**
 * Why an auth config must not be served, in words for the operator; empty
 * when it is fine. Used by loadConfig and again by createAuthenticator, so a
 * config built by hand fails the same way.
 */
export function authProblems(auth: Pick<AuthConfig, 'secretKey' | 'algorithm' | 'required'>): string[] {
  const problems: string[] = [];
  if (!auth.secretKey) {
    if (auth.required) problems.push('FACEREC_AUTH__REQUIRED is true but AUTH_SECRET_KEY is not set: set the key (e.g. openssl rand -base64 48) or the server would accept every RPC without a token');
    return problems;
  }
  const minimum = MIN_SECRET_BYTES[auth.algorithm];
  const bytes = Buffer.byteLength(auth.secretKey, 'utf8');
  if (minimum !== undefined && bytes < minimum) {
    problems.push(`AUTH_SECRET_KEY is ${bytes} bytes; ${auth.algorithm} needs at least ${minimum} (RFC 7518 §3.2: no shorter than the hash output). Make one with: openssl rand -base64 48`);
  }
  return problems;
}
