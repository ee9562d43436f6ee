/**
 * tfjs on its WebAssembly backend inside Node, with nothing fetched from the
 * network: the .wasm binaries come from this package's node_modules, and
 * model URLs starting with file:// are read from disk (plain tfjs has no
 * file:// handler; only tfjs-node registers one, and tfjs-node downloads
 * libtensorflow when installed, so it is not used here).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import tfModule from '@tensorflow/tfjs';
import wasmModule from '@tensorflow/tfjs-backend-wasm';

/** The one tfjs instance: face-api's and Human's wasm builds require these same packages. */
export const tf = tfModule;

const require = createRequire(import.meta.url);

/** The folder holding tfjs-backend-wasm's .wasm files, with the trailing slash setWasmPaths wants. */
export const WASM_DIR = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '/');

export interface WasmBackendInfo {
  readonly backend: string;
  /** XNNPACK threads the backend runs on (tfjs disables wasm threads under Node, so 1). */
  readonly threads: number;
  readonly tfjsVersion: string;
}

/**
 * Points the wasm backend at the local binaries and asks for one thread.
 * Call before the backend is initialised (before setBackend, or before a
 * library initialises it itself).
 */
export function configureWasm(): void {
  wasmModule.setWasmPaths(WASM_DIR);
  wasmModule.setThreadsCount(1);
}

/** Initialises the wasm backend (when no library has done it yet) and reports what runs. */
export async function useWasmBackend(): Promise<WasmBackendInfo> {
  if (tf.getBackend() !== 'wasm') {
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error('the tfjs wasm backend failed to initialise');
  }
  await tf.ready();
  return { backend: tf.getBackend(), threads: wasmModule.getThreadsCount(), tfjsVersion: tf.version_core };
}

type WeightsManifest = Parameters<Parameters<typeof tf.io.getModelArtifactsForJSON>[1]>[0];

/** A graph or layers model.json and its weight shards, read from disk. */
function fileModelHandler(modelJsonPath: string): tfModule.io.IOHandler {
  return {
    async load() {
      const modelJson = JSON.parse(await readFile(modelJsonPath, 'utf8')) as tfModule.io.ModelJSON;
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest: WeightsManifest) => {
        const specs = manifest.flatMap((group) => group.weights);
        const shards = await Promise.all(manifest.flatMap((group) => group.paths.map((p) => readFile(join(dirname(modelJsonPath), p)))));
        const all = Buffer.concat(shards);
        // A copy into a fresh ArrayBuffer: a Buffer may be a view into a larger pool.
        return [specs, all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength)];
      });
    },
  };
}

let routerRegistered = false;

/** Lets tf.loadGraphModel('file:///…/model.json') (what Human calls) read from disk. */
export function registerFileModelLoader(): void {
  if (routerRegistered) return;
  routerRegistered = true;
  const router = (url: string | string[]): tfModule.io.IOHandler | null => {
    const first = Array.isArray(url) ? url[0] : url;
    return typeof first === 'string' && first.startsWith('file://') ? fileModelHandler(fileURLToPath(first)) : null;
  };
  // tfjs asks every router and skips the ones that return null (its own
  // http router does the same), though the declared type leaves null out.
  tf.io.registerLoadRouter(router as Parameters<typeof tf.io.registerLoadRouter>[0]);
}
