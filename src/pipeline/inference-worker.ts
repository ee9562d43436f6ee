/**
 * The body of one inference worker thread (see inference-pool.ts): it opens
 * the three models and the three image graphs once, then runs whatever job the
 * pool posts, one at a time, and posts the result back.
 *
 * onnxruntime-node's `run` blocks the thread that calls it for the whole
 * model run; here that thread is this worker, not the server's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { inputMaker, openImageOps } from './image-ops.js';
import { assembleBatch, OrtSession } from './session.js';
import type { PoolJob, PoolReply, WorkerSetup } from './inference-protocol.js';

const setup = workerData as WorkerSetup;
const port = parentPort!;

function reason(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * Results are moved to the pool, not copied: the detector's raw outputs are
 * ~100 KB an image, and copying them was a visible share of the CPU. A
 * buffer that cannot be moved (one ONNX Runtime still owns) is copied.
 */
function postReply(reply: PoolReply): void {
  const buffers = new Set<ArrayBuffer>();
  if ('outputs' in reply) for (const tensor of Object.values(reply.outputs)) buffers.add(tensor.data.buffer as ArrayBuffer);
  if ('bytes' in reply) buffers.add(reply.bytes.buffer as ArrayBuffer);
  try {
    port.postMessage(reply, [...buffers]);
  } catch {
    port.postMessage(reply);
  }
}

/** What the worker has opened, so a failed start can release it before saying so. */
const opened: Array<{ close(): Promise<void> }> = [];
async function open<T extends { close(): Promise<void> }>(opening: Promise<T>): Promise<T> {
  const session = await opening;
  opened.push(session);
  return session;
}

/**
 * One model after another, not all at once: a session still being created
 * when a sibling fails would finish on a thread that is going away, and
 * ONNX Runtime's binding aborts the whole process then.
 */
async function openModels(intraOpThreads: number) {
  const create = (name: keyof WorkerSetup['models']) =>
    open(OrtSession.create({ name, path: setup.models[name].path, itemDims: setup.models[name].itemDims, intraOpThreads }));
  return { detector: await create('detector'), landmarks: await create('landmarks'), embedder: await create('embedder') };
}

try {
  const sessions = await openModels(setup.intraOpThreads);
  // ONNX Runtime fixes a session's thread count when it is created, so a run
  // that may use more threads needs sessions of its own (7 MB of models each).
  const soloSessions = setup.soloIntraOpThreads === undefined ? undefined : await openModels(setup.soloIntraOpThreads);
  const imageOps = await open(openImageOps(setup.imageGraphs));
  const makeInput = { detector: inputMaker(imageOps, 'detector'), landmarks: inputMaker(imageOps, 'landmarks'), embedder: inputMaker(imageOps, 'embedder') };

  const runJob = async (job: PoolJob): Promise<PoolReply> => {
    switch (job.kind) {
      case 'model': {
        const session = ((job.solo && soloSessions) || sessions)[job.model];
        const batch = 'items' in job ? await assembleBatch(session, job.items, makeInput[job.model]) : { data: job.data, dims: job.dims };
        return { id: job.id, outputs: await session.run(batch) };
      }
      case 'landmarkCrop':
        return { id: job.id, bytes: await imageOps.landmarkCrop(job.region) };
      case 'warp':
        return { id: job.id, bytes: await imageOps.warp(job.region, job.theta) };
      case 'detectorInput':
        return { id: job.id, bytes: await imageOps.detectorInput(job.image) };
    }
  };

  port.on('message', (job: PoolJob) => {
    runJob(job).then(
      (reply) => postReply(reply),
      (error: unknown) => port.postMessage({ id: job.id, error: reason(error) } satisfies PoolReply),
    );
  });
  port.postMessage({ ready: true });
} catch (error) {
  await Promise.allSettled(opened.map((session) => session.close()));
  port.postMessage({ ready: false, error: reason(error) });
  // With nothing open and the port closed, the thread ends by itself.
  port.close();
}
