/**
 * N worker threads running one library; the main thread hands out image
 * paths (each worker takes the next as soon as it is free) and collects the
 * results in input order.
 */
import { Worker } from 'node:worker_threads';
import type { LibraryInfo, LibraryName } from './face-library.js';
import type { ImageJob, ImageResult, WorkerMessage, WorkerSetup } from './worker-protocol.js';

const WORKER_URL = new URL('./worker.ts', import.meta.url);

/**
 * A worker thread does not inherit tsx's loader hooks, so it registers tsx
 * first and then imports its .ts entry (as src/pipeline/inference-pool.ts does).
 */
function startThread(setup: WorkerSetup): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: setup });
}

interface PoolThread {
  readonly thread: Worker;
  pending?: { readonly resolve: (r: ImageResult) => void; readonly reject: (e: Error) => void };
}

export class LibraryPool {
  private nextId = 1;

  private constructor(
    private readonly threads: readonly PoolThread[],
    readonly info: LibraryInfo,
  ) {}

  /** Starts `workers` threads and waits until each has its models loaded. */
  static async start(library: LibraryName, workers: number): Promise<LibraryPool> {
    const threads: PoolThread[] = [];
    const infos: Promise<LibraryInfo>[] = [];
    for (let i = 0; i < workers; i++) {
      const pt: PoolThread = { thread: startThread({ library }) };
      threads.push(pt);
      infos.push(
        new Promise<LibraryInfo>((resolve, reject) => {
          pt.thread.on('message', (m: WorkerMessage) => {
            if (m.type === 'ready') resolve(m.info);
            else if (m.type === 'failed') reject(new Error(`${library} failed to load in a worker: ${m.error}`));
            else {
              const pending = pt.pending;
              pt.pending = undefined;
              pending?.resolve(m);
            }
          });
          pt.thread.on('error', (err: Error) => {
            reject(err);
            pt.pending?.reject(err);
          });
          pt.thread.on('exit', (code) => {
            const err = new Error(`${library} worker exited with code ${code}`);
            reject(err);
            pt.pending?.reject(err);
          });
        }),
      );
    }
    try {
      const [info] = await Promise.all(infos);
      return new LibraryPool(threads, info!);
    } catch (err) {
      await Promise.all(threads.map((t) => t.thread.terminate()));
      throw err;
    }
  }

  get workers(): number {
    return this.threads.length;
  }

  private send(pt: PoolThread, path: string, wantEmbedding: boolean): Promise<ImageResult> {
    return new Promise<ImageResult>((resolve, reject) => {
      pt.pending = { resolve, reject };
      const job: ImageJob = { id: this.nextId++, path, wantEmbedding };
      pt.thread.postMessage(job);
    });
  }

  /** One image on every worker, so each has compiled its kernels before the timed run. */
  async warmUp(path: string): Promise<void> {
    const results = await Promise.all(this.threads.map((pt) => this.send(pt, path, false)));
    const failed = results.find((r) => r.error);
    if (failed) throw new Error(`${this.info.library} warm-up on ${path}: ${failed.error}`);
  }

  /** Every path through the pool; results in the order of `paths`. */
  async runAll(paths: readonly string[], wantEmbedding: boolean): Promise<ImageResult[]> {
    const results: ImageResult[] = new Array<ImageResult>(paths.length);
    let next = 0;
    const drain = async (pt: PoolThread) => {
      while (next < paths.length) {
        const index = next++;
        results[index] = await this.send(pt, paths[index]!, wantEmbedding);
      }
    };
    await Promise.all(this.threads.map(drain));
    return results;
  }

  async close(): Promise<void> {
    for (const pt of this.threads) pt.thread.removeAllListeners('exit');
    await Promise.all(this.threads.map((pt) => pt.thread.terminate()));
  }
}
