export { resolveModelPaths, loadSourceManifest, loadBuildManifest, defaultModelsDir, sourceManifestPath, MODEL_NAMES } from './manifest.js';
export type { BuildManifest, BuiltModel, IoSpec, ModelName, ModelPaths, ModelSource, PackageSource, PackedFile, SourceManifest, TensorSpec } from './manifest.js';
export { deriveModel, DERIVED_INPUT, RECIPES, RECIPE_VERSION } from './derive.js';
export type { DeriveOptions, DeriveReport, Recipe } from './derive.js';
export { ensureTarball, extractVerified, integrityOf, npmPack, sha256File, tarballName } from './fetch.js';
export type { ExtractEntry, PackFn, TarballOptions } from './fetch.js';
export { buildIsCurrent, prepareLayout, prepareModels } from './prepare.js';
export type { PrepareLayout, PrepareOptions } from './prepare.js';
