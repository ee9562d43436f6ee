/**
 * @vladmandic/face-api as its README sets it up for recognition: the SSD
 * MobileNet v1 detector (input resized to 512×512, minimum confidence 0.5,
 * up to 100 faces), the 68-point landmark net, and the ResNet-34-style
 * recognition net (150×150 aligned crop → 128-d descriptor), all with the
 * weights shipped in the package's model/ folder.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as FaceApi from '@vladmandic/face-api';
import type { RgbImage } from './decode.js';
import type { FaceLibrary, FoundFace } from './face-library.js';
import { configureWasm, tf, useWasmBackend } from './tfjs-wasm.js';

const require = createRequire(import.meta.url);

export async function createFaceApiLibrary(): Promise<FaceLibrary> {
  // The package's main entry is the tfjs-node build; the wasm build requires
  // @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm instead.
  const packageDir = dirname(require.resolve('@vladmandic/face-api/package.json'));
  const faceapi = require(join(packageDir, 'dist', 'face-api.node-wasm.js')) as typeof FaceApi;
  const version = (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;

  configureWasm();
  const backend = await useWasmBackend();
  const modelDir = join(packageDir, 'model');
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
  const options = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5, maxResults: 100 });

  return {
    info: { library: '@vladmandic/face-api', version, ...backend, metric: 'euclidean-distance' },
    async analyze(image: RgbImage): Promise<FoundFace[]> {
      const input = tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
      try {
        // face-api bundles its own copy of tfjs's type declarations, so the
        // tensor made here has a different (structurally equal) type.
        const results = await faceapi.detectAllFaces(input as unknown as FaceApi.tf.Tensor3D, options).withFaceLandmarks().withFaceDescriptors();
        return results.map((r) => ({ area: r.detection.box.area, embedding: Array.from(r.descriptor) }));
      } finally {
        input.dispose();
      }
    },
  };
}
