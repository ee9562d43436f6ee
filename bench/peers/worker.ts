/**
 * One library in one worker thread: loads it on its own tfjs wasm backend,
 * then decodes and analyses the images the pool sends, one at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { decodeRgb } from './decode.js';
import type { FaceLibrary, FoundFace, LibraryName } from './face-library.js';
import type { ImageJob, WorkerMessage, WorkerSetup } from './worker-protocol.js';

// libvips threads per operation (a process-wide setting): one, so N workers
// decoding at once keep to about N cores.
sharp.concurrency(1);

async function openLibrary(name: LibraryName): Promise<FaceLibrary> {
  switch (name) {
    case '@vladmandic/face-api':
      return (await import('./face-api-library.js')).createFaceApiLibrary();
    case '@vladmandic/human':
      return (await import('./human-library.js')).createHumanLibrary();
  }
}

/** The largest face that has an embedding. */
function largest(faces: readonly FoundFace[]): FoundFace | undefined {
  return faces.filter((f) => f.embedding.length > 0).reduce<FoundFace | undefined>((best, f) => (!best || f.area > best.area ? f : best), undefined);
}

const port = parentPort;
if (!port) throw new Error('worker.ts runs as a worker thread of run.ts');
const send = (message: WorkerMessage) => port.postMessage(message);

const { library: name } = workerData as WorkerSetup;
try {
  const library = await openLibrary(name);
  port.on('message', (job: ImageJob) => {
    decodeRgb(job.path)
      .then((image) => library.analyze(image))
      .then((faces) => {
        const embedding = job.wantEmbedding ? largest(faces)?.embedding : undefined;
        send({ type: 'result', id: job.id, faces: faces.length, ...(embedding ? { embedding } : {}) });
      })
      .catch((err: unknown) => send({ type: 'result', id: job.id, faces: 0, error: err instanceof Error ? err.message : String(err) }));
  });
  send({ type: 'ready', info: library.info });
} catch (err) {
  send({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
}
