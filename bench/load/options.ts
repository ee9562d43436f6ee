/**
 * The load generator's command line: its flags (util.parseArgs through
 * parseCommandArgs, each with a description for --help) and their checks.
 * The checks keep a run bounded: a loopback target unless asked otherwise,
 * a hard cap on requests in flight and on the run's length, and a deadline
 * on every request, so a run always stops by itself.
 */
import { isIP } from 'node:net';
import { parseCommandArgs, UsageError, type FlagOptions } from '../../src/cli/command.js';
import { numberFlag } from '../cli.js';
import { INPUT_KINDS, type InputKind } from './inputs.js';

/** No run keeps more requests in flight than this, whatever the flags say. */
export const MAX_IN_FLIGHT = 1024;
/** No run lasts longer than this (warm-up included), whatever the flags say. */
export const MAX_DURATION_S = 3600;

export const LOAD_OPTIONS = {
  target: { type: 'string', valueName: 'host:port', description: 'server to load (the gRPC port, or the REST port with --protocol rest); without it a server is started as a child process' },
  protocol: { type: 'string', default: 'grpc', valueName: 'grpc|rest', description: 'gRPC Recognize, or REST POST /base64 (the Recognize HTTP rule)' },
  concurrency: { type: 'string', valueName: 'n', description: 'closed loop: n requests always in flight (the default, with n = 16)' },
  rate: { type: 'string', valueName: 'req/s', description: 'open loop: requests started at this steady rate; latency counts from each request\'s intended start' },
  'max-in-flight': { type: 'string', default: '256', valueName: 'n', description: `open loop: requests in flight at most; later ones wait for a slot (and their wait counts in their latency). Never above ${MAX_IN_FLIGHT}` },
  mix: { type: 'string', default: 'portrait=8,group=1,noface=1', valueName: 'kind=weight,…', description: `input mix by weight: ${INPUT_KINDS.join(', ')}` },
  duration: { type: 'string', valueName: 'seconds', description: 'measured seconds after the warm-up (default 30; with --requests, a limit)' },
  requests: { type: 'string', valueName: 'n', description: 'measured requests after the warm-up, then stop' },
  warmup: { type: 'string', default: '5', valueName: 'seconds', description: 'seconds of load before measuring, left out of every figure' },
  timeout: { type: 'string', default: '30', valueName: 'seconds', description: 'deadline of each request' },
  portraits: { type: 'string', default: '16', valueName: 'n', description: 'how many 250×250 one-face portraits to cut from the test photos' },
  images: { type: 'string', valueName: 'dir', description: 'send the image files of this folder instead (each as often as the others; a file is a portrait, group or noface input by the faces the target finds in it); --mix and --portraits are then unused' },
  token: { type: 'string', valueName: 'JWT', description: 'bearer token, for a server with AUTH_SECRET_KEY set (scope faces:read)' },
  'allow-remote': { type: 'boolean', default: false, description: 'allow a target that is not a loopback address' },
  json: { type: 'string', valueName: 'path', description: 'write the report as JSON to this file' },
  csv: { type: 'string', valueName: 'prefix', description: 'write PREFIX_stats.csv, PREFIX_stats_history.csv and PREFIX_failures.csv' },
  quiet: { type: 'boolean', default: false, description: 'print only the summary, no progress' },
} as const satisfies FlagOptions;

export type Protocol = 'grpc' | 'rest';

export type LoadMode = { readonly kind: 'closed'; readonly concurrency: number } | { readonly kind: 'open'; readonly ratePerS: number; readonly maxInFlight: number };

export interface LoadOptions {
  readonly target?: { readonly host: string; readonly port: number };
  readonly protocol: Protocol;
  readonly mode: LoadMode;
  readonly mix: Readonly<Record<InputKind, number>>;
  /** Measured seconds (a limit when `requests` is set). */
  readonly durationS: number;
  readonly requests?: number;
  readonly warmupS: number;
  readonly timeoutS: number;
  readonly portraits: number;
  /** A folder of images to send in place of the made inputs. */
  readonly imagesDir?: string;
  readonly token?: string;
  readonly jsonPath?: string;
  readonly csvPrefix?: string;
  readonly quiet: boolean;
}

/** Loopback names and addresses only: a load test against someone else's server must be asked for. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

export function parseTarget(text: string, allowRemote: boolean): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(text);
  if (!match) throw new UsageError(`--target must be host:port, not "${text}"`);
  const host = match[1]!;
  if (!allowRemote && !isLoopback(host)) throw new UsageError(`--target ${host} is not a loopback address; add --allow-remote to load a remote server`);
  return { host, port: numberFlag('target', match[2]!, 1, 65535, true) };
}

export function parseMix(text: string): Record<InputKind, number> {
  const mix = Object.fromEntries(INPUT_KINDS.map((k) => [k, 0])) as Record<InputKind, number>;
  for (const part of text.split(',')) {
    const [kind, weight] = part.split('=');
    if (!(INPUT_KINDS as readonly string[]).includes(kind!) || weight === undefined) {
      throw new UsageError(`--mix takes kind=weight pairs with kinds ${INPUT_KINDS.join(', ')}, not "${part}"`);
    }
    mix[kind as InputKind] = numberFlag('mix', weight, 0, 1000, true);
  }
  if (Object.values(mix).every((w) => w === 0)) throw new UsageError('--mix needs one weight above 0');
  return mix;
}

export function parseLoadOptions(args: readonly string[]): LoadOptions {
  const { values: v } = parseCommandArgs(args, LOAD_OPTIONS, false);
  if (v.protocol !== 'grpc' && v.protocol !== 'rest') throw new UsageError(`--protocol must be grpc or rest, not "${v.protocol}"`);
  if (v.concurrency !== undefined && v.rate !== undefined) throw new UsageError('give --concurrency (closed loop) or --rate (open loop), not both');
  const mode: LoadMode = v.rate !== undefined
    ? { kind: 'open', ratePerS: numberFlag('rate', v.rate, 0.1, 100_000), maxInFlight: numberFlag('max-in-flight', v['max-in-flight'], 1, MAX_IN_FLIGHT, true) }
    : { kind: 'closed', concurrency: numberFlag('concurrency', v.concurrency ?? '16', 1, MAX_IN_FLIGHT, true) };
  const warmupS = numberFlag('warmup', v.warmup, 0, MAX_DURATION_S);
  const requests = v.requests === undefined ? undefined : numberFlag('requests', v.requests, 1, 100_000_000, true);
  // With only --requests, the run is bounded by the hard cap instead of the 30 s default.
  const durationS = numberFlag('duration', v.duration ?? (requests === undefined ? '30' : String(MAX_DURATION_S - warmupS)), 0.1, MAX_DURATION_S - warmupS);
  return {
    ...(v.target === undefined ? {} : { target: parseTarget(v.target, v['allow-remote']) }),
    protocol: v.protocol,
    mode,
    mix: parseMix(v.mix),
    durationS,
    ...(requests === undefined ? {} : { requests }),
    warmupS,
    timeoutS: numberFlag('timeout', v.timeout, 0.1, 600),
    portraits: numberFlag('portraits', v.portraits, 1, 200, true),
    ...(v.images === undefined ? {} : { imagesDir: v.images }),
    ...(v.token === undefined ? {} : { token: v.token }),
    ...(v.json === undefined ? {} : { jsonPath: v.json }),
    ...(v.csv === undefined ? {} : { csvPrefix: v.csv }),
    quiet: v.quiet,
  };
}
