/**
 * @vladmandic/human set up for face recognition only, with the models its
 * own package ships in models/: BlazeFace (back model, 256×256 input) finds
 * the faces, FaceMesh (192×192 input, 468 points) refines each box and
 * rotation, and FaceRes (224×224 crop) gives a 1024-d descriptor (plus age
 * and gender, which it computes in the same pass). Iris, emotion, body,
 * hand, object and gesture models are switched off; BlazeFace's default of
 * one face is raised so group photos count, and the video-frame caching is
 * off so every image is processed from scratch.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import type * as HumanModule from '@vladmandic/human';
import type { RgbImage } from './decode.js';
import type { FaceLibrary, FoundFace } from './face-library.js';
import { configureWasm, registerFileModelLoader, tf, useWasmBackend, WASM_DIR } from './tfjs-wasm.js';

const require = createRequire(import.meta.url);

/** Human's package.json "exports" has no "./dist/…" entries that Node honours, so its folder is found from here. */
const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'node_modules', '@vladmandic', 'human');

const MAX_FACES = 100;
const REQUIRED_MODELS = ['blazeface', 'facemesh', 'faceres'];

export async function createHumanLibrary(): Promise<FaceLibrary> {
  // The "node" build is the tfjs-node one; the wasm build requires
  // @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm instead.
  const { Human } = require(join(PACKAGE_DIR, 'dist', 'human.node-wasm.js')) as typeof HumanModule;
  const version = (JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string }).version;

  configureWasm();
  registerFileModelLoader();
  const skip = { skipFrames: 0, skipTime: 0 };
  const human = new Human({
    backend: 'wasm',
    wasmPath: WASM_DIR,
    modelBasePath: pathToFileURL(join(PACKAGE_DIR, 'models')).href + '/',
    cacheModels: false,
    cacheSensitivity: 0,
    warmup: 'none',
    debug: false,
    // Image filters apply to canvas inputs only; these are tensors.
    filter: { enabled: false },
    gesture: { enabled: false },
    body: { enabled: false },
    hand: { enabled: false },
    object: { enabled: false },
    segmentation: { enabled: false },
    face: {
      enabled: true,
      detector: { maxDetected: MAX_FACES, rotation: false, ...skip },
      mesh: { enabled: true },
      iris: { enabled: false },
      emotion: { enabled: false },
      description: { enabled: true, ...skip },
      antispoof: { enabled: false },
      liveness: { enabled: false },
    },
  });
  await human.load();
  // Human logs a model that failed to load and carries on; here that is an error.
  const missing = REQUIRED_MODELS.filter((m) => !human.models.loaded().includes(m));
  if (missing.length > 0) throw new Error(`human: models not loaded: ${missing.join(', ')} (from ${join(PACKAGE_DIR, 'models')})`);
  const backend = await useWasmBackend();

  return {
    info: { library: '@vladmandic/human', version, ...backend, metric: 'cosine-similarity' },
    async analyze(image: RgbImage): Promise<FoundFace[]> {
      const input = tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
      try {
        const result = await human.detect(input as unknown as HumanModule.Tensor);
        if (result.error) throw new Error(`human: ${result.error}`);
        return result.face.map((f) => ({ area: f.box[2] * f.box[3], embedding: f.embedding ?? [] }));
      } finally {
        input.dispose();
      }
    },
  };
}
