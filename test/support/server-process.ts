/**
 * The real server as its own process (`facerec serve`, as `npm start` and the
 * container run it), for tests that must see whether the process survives:
 * its PID, its JSON log lines and its exit are all observable here.
 *
 * Every port is 0: the server binds whatever the OS gives it and reports the
 * ports in its "facerec serving" log line, which is where this helper reads
 * them (a port picked here and bound there could be taken in between).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { credentials } from '@grpc/grpc-js';
import { FaceRecognitionClient } from '../../src/gen/facerec/v1/facerec.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly [field: string]: unknown;
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly grpcPort: number;
  /** http://127.0.0.1:PORT of the REST gateway (throws when FACEREC_SERVER__REST_ENABLED=false). */
  readonly restUrl: string;
  /** http://127.0.0.1:PORT/metrics (throws when FACEREC_SERVER__METRICS_ENABLED=false). */
  readonly metricsUrl: string;
  readonly dataDir: string;
  readonly client: FaceRecognitionClient;
  /** Every JSON log line so far. */
  readonly logs: readonly LogLine[];
  /** Whether the process is still running. */
  alive(): boolean;
  /** Sends the signal (SIGTERM by default) and resolves with the exit code, null when killed by a signal; removes DATA_DIR unless it was given. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** A server that exited before it served: its exit code and every line it logged. */
export class ServerStartError extends Error {
  constructor(
    readonly exitCode: number | null,
    readonly output: string,
  ) {
    super(`facerec serve exited (code ${exitCode}) before serving:\n${output}`);
  }
}

export interface ServerProcessOptions {
  /** Extra environment (settings); ports and DATA_DIR are filled in. */
  readonly env?: Record<string, string>;
  /** Reuse a data directory (kept on stop). */
  readonly dataDir?: string;
}

/** Spawns `facerec serve` on loopback and resolves once it logs "facerec serving". */
export async function startServerProcess(options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'facerec-proc-')));
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      FACEREC_HOST: '127.0.0.1',
      GRPC_PORT: '0',
      REST_PORT: '0',
      METRICS_PORT: '0',
      DATA_DIR: dataDir,
      FACEREC_PIPELINE__INTRA_OP_THREADS: '1',
      ...options.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs: LogLine[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const serving = new Promise<LogLine>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { level: 'raw', message: text };
      }
      logs.push(line);
      if (line.message === 'facerec serving') resolve(line);
    });
    void exited.then((code) => reject(new ServerStartError(code, logs.map((l) => JSON.stringify(l)).join('\n'))));
  });
  const ready = await serving;
  const grpcPort = ready['grpcPort'] as number;
  const urlOf = (field: 'restPort' | 'metricsPort', path: string, setting: string) => {
    const port = ready[field] as number | undefined;
    if (port === undefined) throw new Error(`this server was started with ${setting}=false`);
    return `http://127.0.0.1:${port}${path}`;
  };
  const client = new FaceRecognitionClient(`127.0.0.1:${grpcPort}`, credentials.createInsecure(), {
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  return {
    child,
    pid: child.pid!,
    grpcPort,
    get restUrl() {
      return urlOf('restPort', '', 'FACEREC_SERVER__REST_ENABLED');
    },
    get metricsUrl() {
      return urlOf('metricsPort', '/metrics', 'FACEREC_SERVER__METRICS_ENABLED');
    },
    dataDir,
    client,
    logs,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop(signal = 'SIGTERM') {
      client.close();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

/** The value of one unlabelled Prometheus gauge or counter. */
export async function metricValue(metricsUrl: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(metricsUrl)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}
