/**
 * Model runs on worker threads, off the event loop.
 *
 * onnxruntime-node runs a session synchronously on the thread that calls
 * `run` (its async `run` only defers the call with setImmediate). On the
 * event loop, every model run would stall gRPC, decode hand-offs and every
 * other request for its whole length, and no two runs could overlap. The pool
 * keeps N workers (inference-worker.ts), each with its own sessions of all
 * the models and image graphs; a job goes to the first idle worker, in the
 * order jobs came. A model job may carry image regions, which the worker
 * makes into the model's inputs with its image graph before the run. As
 * Triton gives a model several instances, N workers let batches of
 * different models — or two batches of one — run side by side.
 *
 * On few cores the number of ONNX Runtime threads decides both throughput
 * and latency: under load, one thread per run and one run per worker keep
 * every core busy without threads fighting over them; a lone request would
 * leave cores idle that way. So a model run that has the pool to itself, at
 * a quiet time (solo-policy.ts), runs on `soloIntraOpThreads` threads (a
 * second set of sessions in each worker), and on `intraOpThreads` otherwise.
 *
 * Inputs are copied to the worker (structured clone, a fraction of the run's
 * time) rather than transferred, so no caller's buffer is ever detached. A
 * worker that dies fails its job with MODEL_FAILED and is replaced; when no
 * worker can be started, jobs fail with MODEL_NOT_LOADED and the next job
 * tries again.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FacerecError } from '../errors.js';
import type { ModelName } from '../models/manifest.js';
import type { ImageOps } from './image-ops.js';
import type { JobRequest, PoolReply, WorkerReady, WorkerSetup } from './inference-protocol.js';
import { isRegionItem, type BatchOutputs, type InferenceSession, type InputBatch, type ModelItem } from './session.js';
import { SoloPolicy, type ModelLoad } from './solo-policy.js';

export interface InferencePoolOptions extends WorkerSetup {
  readonly workers: number;
}

export interface InferencePoolStats {
  readonly workers: number;
  readonly busy: number;
  readonly queued: number;
}

interface PendingJob {
  readonly request: JobRequest;
  resolve(reply: PoolReply): void;
  reject(error: unknown): void;
}

interface PoolWorker {
  readonly thread: Worker;
  current?: { readonly id: number; readonly job: PendingJob };
}

/** The worker's entry, next to this file: .ts when run from source under tsx, .js once compiled. */
const WORKER_URL = new URL(`./inference-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/**
 * A worker thread does not inherit tsx's loader hooks, so from source the
 * worker first registers tsx, then imports its .ts entry; compiled, it
 * starts from the .js file directly.
 */
function startWorker(workerData: WorkerSetup): Worker {
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

/**
 * A region whose pixels are a view into a larger buffer gets its own copy:
 * posting a view clones the whole buffer behind it.
 */
function ownPixels(item: ModelItem): ModelItem {
  if (!isRegionItem(item) || item.region.data.byteLength === item.region.data.buffer.byteLength) return item;
  // Buffer.alloc, not Buffer.from: a small Buffer.from would be a view into Node's shared pool again.
  const data = Buffer.alloc(item.region.data.byteLength);
  data.set(item.region.data);
  return { ...item, region: { ...item.region, data } };
}

export class InferencePool {
  private readonly queue: PendingJob[] = [];
  private readonly idle: PoolWorker[] = [];
  private readonly all = new Set<PoolWorker>();
  private readonly soloPolicy = new SoloPolicy();
  private nextId = 1;
  private starting = 0;
  private closing = false;

  private constructor(private readonly options: InferencePoolOptions) {}

  /** Starts the workers; resolves once every one has its models open (MODEL_NOT_LOADED otherwise). */
  static async start(options: InferencePoolOptions): Promise<InferencePool> {
    const pool = new InferencePool(options);
    try {
      await Promise.all(Array.from({ length: Math.max(1, options.workers) }, () => pool.spawn()));
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  get stats(): InferencePoolStats {
    return { workers: this.all.size, busy: this.all.size - this.idle.length, queued: this.queue.length };
  }

  /** One model run on the next free worker. */
  runModel(model: ModelName, batch: InputBatch): Promise<BatchOutputs> {
    return this.outputsOf(model, { kind: 'model', model, data: batch.data, dims: batch.dims });
  }

  /** One model run on the next free worker, which makes the region items into inputs in the same job. */
  runModelItems(model: ModelName, items: readonly ModelItem[]): Promise<BatchOutputs> {
    return this.outputsOf(model, { kind: 'model', model, items: items.map(ownPixels) });
  }

  private async outputsOf(model: ModelName, request: JobRequest): Promise<BatchOutputs> {
    const reply = await this.submit(request);
    if (!('outputs' in reply)) throw new FacerecError('MODEL_FAILED', `${model}: the worker sent no outputs`);
    return reply.outputs;
  }

  /** A session whose runs go to the pool, for the batcher (which only knows InferenceSession). */
  session(model: ModelName, itemDims: readonly number[]): InferenceSession {
    return { name: model, itemDims, run: (batch) => this.runModel(model, batch), runItems: (items) => this.runModelItems(model, items), close: async () => {} };
  }

  /**
   * The image graphs on their own, run on the workers too: the server's
   * batchers use them for regions too large to travel in a batch.
   */
  imageOps(): ImageOps {
    const bytes = async (request: JobRequest, name: string) => {
      const reply = await this.submit(request);
      if (!('bytes' in reply)) throw new FacerecError('MODEL_FAILED', `${name}: the worker sent no image`);
      return reply.bytes;
    };
    return {
      landmarkCrop: (region) => bytes({ kind: 'landmarkCrop', region }, 'landmark-crop'),
      warp: (region, theta) => bytes({ kind: 'warp', region, theta }, 'face-warp'),
      detectorInput: (image) => bytes({ kind: 'detectorInput', image: { data: image.data, width: image.width, height: image.height } }, 'detector-input'),
      close: async () => {},
    };
  }

  /** Fails queued jobs with SHUTTING_DOWN, lets running ones finish, then ends the workers. */
  async close(): Promise<void> {
    this.closing = true;
    for (const job of this.queue.splice(0)) job.reject(new FacerecError('SHUTTING_DOWN'));
    const workers = [...this.all];
    await Promise.all(
      workers.map(async (worker) => {
        while (worker.current) await new Promise((r) => setTimeout(r, 5));
        await worker.thread.terminate();
      }),
    );
    this.all.clear();
    this.idle.length = 0;
  }

  private submit(request: JobRequest): Promise<PoolReply> {
    if (this.closing) return Promise.reject(new FacerecError('SHUTTING_DOWN'));
    // Every worker died and its replacement could not load: try again for this job
    // rather than queue it behind nothing.
    if (this.all.size === 0 && this.starting === 0) this.replace();
    return new Promise<PoolReply>((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0 && this.idle.length > 0) {
      const job = this.queue.shift()!;
      const solo = job.request.kind === 'model' && this.options.soloIntraOpThreads !== undefined && this.soloPolicy.decide(this.modelLoad(), performance.now());
      const worker = this.idle.pop()!;
      const id = this.nextId++;
      worker.current = { id, job };
      worker.thread.postMessage(solo ? { ...job.request, id, solo } : { ...job.request, id });
    }
  }

  /**
   * Model jobs running and waiting, counting the one being dispatched. Image-graph jobs
   * on their own (a large face's crop or warp, about a millisecond) do not count:
   * a lone request may send a face's two warps at once, and that should not keep
   * its next model runs narrow.
   */
  private modelLoad(): ModelLoad {
    let running = 0;
    let waiting = 1;
    for (const worker of this.all) if (worker.current?.job.request.kind === 'model') running++;
    for (const job of this.queue) if (job.request.kind === 'model') waiting++;
    return { running, waiting };
  }

  private spawn(): Promise<void> {
    const { workers: _count, ...setup } = this.options;
    const thread = startWorker(setup);
    const worker: PoolWorker = { thread };
    this.starting++;
    const started = new Promise<void>((resolve, reject) => {
      let ready = false;
      thread.on('message', (message: WorkerReady | PoolReply) => {
        if (!ready) {
          if ('ready' in message && message.ready) {
            ready = true;
            if (this.closing) {
              // A sibling failed to start (or the pool closed) while this one loaded.
              void thread.terminate();
              resolve();
              return;
            }
            this.all.add(worker);
            this.idle.push(worker);
            this.dispatch();
            resolve();
          } else {
            // The worker released what it had opened and ends by itself; ending
            // it from here could cut a native call short.
            reject(new FacerecError('MODEL_NOT_LOADED', `inference worker: ${'error' in message ? message.error : 'no ready message'}`));
          }
          return;
        }
        this.settle(worker, message as PoolReply);
      });
      thread.on('error', (error) => {
        if (!ready) reject(new FacerecError('MODEL_NOT_LOADED', `inference worker: ${error.message}`, { cause: error }));
        else this.fail(worker, error);
      });
      thread.on('exit', (code) => {
        if (!ready) {
          reject(new FacerecError('MODEL_NOT_LOADED', `inference worker exited with code ${code} while loading`));
          return;
        }
        this.fail(worker, new Error(`inference worker exited with code ${code}`));
      });
      // A reply that cannot be deserialised would leave its job, and close(), waiting for ever.
      thread.on('messageerror', (error) => {
        if (!ready) reject(new FacerecError('MODEL_NOT_LOADED', `inference worker: ${error.message}`, { cause: error }));
        else this.fail(worker, error);
        void thread.terminate();
      });
    });
    return started.finally(() => this.starting--);
  }

  /** Starts a worker in place of one that died; with none left, what waits fails rather than waits for ever. */
  private replace(): void {
    void this.spawn().catch(() => {
      if (this.all.size === 0 && this.starting === 0) {
        for (const job of this.queue.splice(0)) job.reject(new FacerecError('MODEL_NOT_LOADED', 'no inference worker could be started'));
      }
    });
  }

  private settle(worker: PoolWorker, reply: PoolReply): void {
    const current = worker.current;
    if (!current || current.id !== reply.id) return;
    worker.current = undefined;
    this.idle.push(worker);
    if ('error' in reply) current.job.reject(new FacerecError('MODEL_FAILED', reply.error));
    else current.job.resolve(reply);
    this.dispatch();
  }

  /** A worker that errored or exited: its job fails, and a fresh worker takes its place. */
  private fail(worker: PoolWorker, error: Error): void {
    if (!this.all.delete(worker)) return;
    const index = this.idle.indexOf(worker);
    if (index >= 0) this.idle.splice(index, 1);
    worker.current?.job.reject(new FacerecError('MODEL_FAILED', error.message, { cause: error }));
    worker.current = undefined;
    if (this.closing) return;
    // Models that opened a moment ago may no longer open: the remaining workers carry on.
    this.replace();
  }
}
