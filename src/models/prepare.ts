/**
 * `npm run models [-- --force]`: fetch the source models and test photos,
 * check their hashes, and build the derived models into models/build/.
 *
 * `npm ci` runs this through `prepare`, so it must be cheap when everything
 * is already in place: it then only hashes local files and fetches nothing.
 * `--force` unpacks and rebuilds everything; a cached tarball is reused only
 * after its integrity string is checked again.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isFacerecError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { deriveModel, RECIPE_VERSION, RECIPES } from './derive.js';
import { IMAGE_GRAPHS } from './image-graphs.js';
import { encodeModel } from './onnx-graph.js';
import { ensureTarball, extractVerified, sha256IfExists, sha256Of, type ExtractEntry, type PackFn } from './fetch.js';
import {
  IMAGE_GRAPH_FILES,
  IMAGE_GRAPH_NAMES,
  loadBuildManifest,
  loadSourceManifest,
  MODEL_NAMES,
  type BuildManifest,
  type BuiltGraph,
  type BuiltModel,
  type ImageGraphName,
  type ModelName,
  type PackageSource,
  type PackedFile,
  type SourceManifest,
} from './manifest.js';

export interface PrepareOptions {
  readonly root?: string;
  readonly force?: boolean;
  readonly pack?: PackFn;
  readonly log?: (line: string) => void;
}

export interface PrepareLayout {
  readonly cacheDir: string;
  readonly originalDir: string;
  readonly buildDir: string;
  readonly photosDir: string;
}

export function prepareLayout(root = packageRoot()): PrepareLayout {
  const cacheDir = join(root, 'models', '.cache');
  return { cacheDir, originalDir: join(cacheDir, 'original'), buildDir: join(root, 'models', 'build'), photosDir: join(root, 'test', 'photos') };
}

export async function prepareModels(options: PrepareOptions = {}): Promise<void> {
  const root = options.root ?? packageRoot();
  const layout = prepareLayout(root);
  const log = options.log ?? ((line: string) => console.log(`[models] ${line}`));
  const manifest = loadSourceManifest(join(root, 'models', 'manifest.json'));
  const force = options.force ?? false;

  const photos = entriesFor(manifest.photos, layout.photosDir, (key) => key);
  if (!force && allPresent(photos)) log('test photos: up to date');
  else await unpack(manifest.photos, photos, layout, options, log);

  if (!force && buildIsCurrent(manifest, layout.buildDir)) {
    log('derived models: up to date');
    return;
  }
  const originals = entriesFor(manifest.models, layout.originalDir, (_key, file) => file.file.split('/').pop()!);
  if (!force && allPresent(originals)) log('source models: cached');
  else await unpack(manifest.models, originals, layout, options, log);

  mkdirSync(layout.buildDir, { recursive: true });
  const built = {} as Record<ModelName, BuiltModel>;
  for (const name of MODEL_NAMES) {
    const source = manifest.models.files[name];
    const sourcePath = join(layout.originalDir, source.file.split('/').pop()!);
    const { bytes, report } = deriveModel(readFileSync(sourcePath), RECIPES[name], { sourceSha256: source.sha256 });
    const file = source.derived.file;
    writeAtomically(join(layout.buildDir, file), bytes);
    built[name] = { file, sha256: sha256Of(bytes), sourceFile: source.file, sourceSha256: source.sha256 };
    log(`built ${file} (${report.zeroedWeights} tiny weights zeroed, ${report.reshapesFixed} reshape fixed)`);
  }
  const imageGraphs = {} as Record<ImageGraphName, BuiltGraph>;
  for (const name of IMAGE_GRAPH_NAMES) {
    const bytes = encodeModel(IMAGE_GRAPHS[name]());
    const file = IMAGE_GRAPH_FILES[name];
    writeAtomically(join(layout.buildDir, file), bytes);
    imageGraphs[name] = { file, sha256: sha256Of(bytes) };
    log(`built ${file}`);
  }
  const buildManifest: BuildManifest = { recipeVersion: RECIPE_VERSION, builtAt: new Date().toISOString(), models: built, imageGraphs };
  writeAtomically(join(layout.buildDir, 'manifest.json'), JSON.stringify(buildManifest, null, 2) + '\n');
}

/** True when every derived model and image graph exists, matches its recorded hash and was built from today's sources and recipe. */
export function buildIsCurrent(manifest: SourceManifest, buildDir: string): boolean {
  const build = loadBuildManifest(buildDir);
  if (!build || build.recipeVersion !== RECIPE_VERSION) return false;
  const graphsCurrent = IMAGE_GRAPH_NAMES.every((name) => {
    const built = build.imageGraphs?.[name];
    return built !== undefined && sha256IfExists(join(buildDir, built.file)) === built.sha256;
  });
  return graphsCurrent && MODEL_NAMES.every((name) => {
    const built = build.models[name];
    return (
      built !== undefined &&
      built.sourceSha256 === manifest.models.files[name].sha256 &&
      sha256IfExists(join(buildDir, built.file)) === built.sha256
    );
  });
}

function entriesFor<F extends PackedFile>(source: PackageSource<F>, destDir: string, destName: (key: string, file: F) => string): ExtractEntry[] {
  return Object.entries(source.files).map(([key, file]) => ({ file: file.file, sha256: file.sha256, dest: join(destDir, destName(key, file)) }));
}

function allPresent(entries: readonly ExtractEntry[]): boolean {
  return entries.every((e) => sha256IfExists(e.dest) === e.sha256);
}

async function unpack(source: PackageSource<PackedFile>, entries: ExtractEntry[], layout: PrepareLayout, options: PrepareOptions, log: (line: string) => void): Promise<void> {
  const tarball = await ensureTarball({
    packageName: source.package,
    version: source.version,
    integrity: source.integrity,
    cacheDir: layout.cacheDir,
    ...(options.pack ? { pack: options.pack } : {}),
    log,
  });
  await extractVerified(tarball, entries, layout.cacheDir);
  log(`unpacked ${entries.length} files from ${source.package}@${source.version} (hashes checked)`);
}

function writeAtomically(path: string, data: Uint8Array | string): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, data);
  renameSync(temp, path);
}

async function main(argv: readonly string[]): Promise<void> {
  try {
    await prepareModels({ force: argv.includes('--force') });
  } catch (error) {
    console.error(`[models] error: ${error instanceof Error ? error.message : String(error)}`);
    if (!isFacerecError(error)) console.error(error);
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2));
