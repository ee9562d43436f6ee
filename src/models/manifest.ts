/**
 * The two manifests behind the models.
 *
 * `models/manifest.json` (committed) says where each source file comes from
 * and what hash it must have; `models/build/manifest.json` (written by
 * `npm run models`) records what was built from which source with which
 * recipe, so a second run can tell that nothing needs doing.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FacerecError } from '../errors.js';
import { packageRoot } from '../package-root.js';

export const MODEL_NAMES = ['detector', 'landmarks', 'embedder'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** Our own image-processing graphs (src/models/image-graphs.ts), built beside the models. */
export const IMAGE_GRAPH_NAMES = ['landmarkCrop', 'faceWarp', 'detectorInput'] as const;
export type ImageGraphName = (typeof IMAGE_GRAPH_NAMES)[number];

export const IMAGE_GRAPH_FILES: Readonly<Record<ImageGraphName, string>> = {
  landmarkCrop: 'landmark-crop.onnx',
  faceWarp: 'face-warp.onnx',
  detectorInput: 'detector-input.onnx',
};

export interface TensorSpec {
  readonly dtype: string;
  readonly shape: readonly (number | string)[];
  readonly meaning: string;
}

export interface IoSpec {
  readonly opset?: number;
  readonly inputs: Readonly<Record<string, TensorSpec>>;
  readonly outputs: Readonly<Record<string, TensorSpec>>;
}

/** One file inside an npm package tarball, with the sha256 it must have. */
export interface PackedFile {
  /** Path inside the tarball, e.g. `package/model/fr_detect.onnx`. */
  readonly file: string;
  readonly sha256: string;
}

export interface ModelSource extends PackedFile {
  readonly original: IoSpec;
  readonly derived: IoSpec & { readonly file: string };
}

export interface PackageSource<F extends PackedFile> {
  readonly package: string;
  readonly version: string;
  /** npm's SRI string for the tarball (`sha512-<base64>`). */
  readonly integrity: string;
  readonly license: string;
  readonly copyright: string;
  readonly files: Readonly<Record<string, F>>;
}

export interface SourceManifest {
  readonly models: PackageSource<ModelSource> & { readonly files: Readonly<Record<ModelName, ModelSource>> };
  readonly photos: PackageSource<PackedFile>;
}

export interface BuiltModel {
  readonly file: string;
  readonly sha256: string;
  readonly sourceFile: string;
  readonly sourceSha256: string;
}

export interface BuiltGraph {
  readonly file: string;
  readonly sha256: string;
}

export interface BuildManifest {
  readonly recipeVersion: number;
  readonly builtAt: string;
  readonly models: Readonly<Record<ModelName, BuiltModel>>;
  /** Absent in builds older than recipe 2. */
  readonly imageGraphs?: Readonly<Record<ImageGraphName, BuiltGraph>>;
}

export interface ModelPaths {
  readonly detector: string;
  readonly landmarks: string;
  readonly embedder: string;
  readonly landmarkCrop: string;
  readonly faceWarp: string;
  readonly detectorInput: string;
}

/**
 * The directory of the built models, `<package root>/models/build`. "Models
 * dir" means this folder everywhere (config `pipeline.modelsDir`, the server);
 * the committed source manifest sits one level up.
 */
export function defaultModelsDir(): string {
  return join(packageRoot(), 'models', 'build');
}

export function sourceManifestPath(): string {
  return join(packageRoot(), 'models', 'manifest.json');
}

export function loadSourceManifest(path = sourceManifestPath()): SourceManifest {
  return readJson(path) as SourceManifest;
}

/** The build manifest, or undefined when nothing has been built yet. */
export function loadBuildManifest(buildDir = defaultModelsDir()): BuildManifest | undefined {
  try {
    return readJson(join(buildDir, 'manifest.json')) as BuildManifest;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Absolute paths of the derived models the pipeline loads, in `modelsDir` (default models/build). */
export function resolveModelPaths(modelsDir?: string): ModelPaths {
  const dir = resolve(modelsDir ?? defaultModelsDir());
  return {
    detector: join(dir, 'detector.onnx'),
    landmarks: join(dir, 'landmarks.onnx'),
    embedder: join(dir, 'embedder.onnx'),
    landmarkCrop: join(dir, IMAGE_GRAPH_FILES.landmarkCrop),
    faceWarp: join(dir, IMAGE_GRAPH_FILES.faceWarp),
    detectorInput: join(dir, IMAGE_GRAPH_FILES.detectorInput),
  };
}

function readJson(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new FacerecError('ASSET_INTEGRITY', `${path} is not valid JSON`, { cause });
  }
}
