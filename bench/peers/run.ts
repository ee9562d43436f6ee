/**
 * The same photos through the Node face libraries a TypeScript user would
 * otherwise pick, @vladmandic/face-api and @vladmandic/human, on the tfjs
 * WebAssembly backend (README.md in this folder).
 *
 *   npm ci --prefix bench/peers        (once)
 *   npx tsx bench/peers/run.ts --images <dir> [--workers 2] [--eval <dir>] [--json <out.json>]
 *                                     [--only face-api|human] [--quick]
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LIBRARY_NAMES, LIBRARY_SHORT_NAMES, type LibraryName } from './face-library.js';
import { evaluateIdentities, listIdentityCrops } from './identity-eval.js';
import { LibraryPool } from './library-pool.js';
import { formatReport, machineInfo, type LibraryReport, type PeersReport } from './report.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const IMAGE_FILE = /\.(jpe?g|png|webp)$/i;
/** --quick: this many images, and this many crops per eval subject. */
const QUICK_IMAGES = 3;
const QUICK_CROPS_PER_SUBJECT = 2;

const HELP = `usage: npx tsx bench/peers/run.ts --images <dir> [options]

  --images <dir>     the photos to run (.jpg, .jpeg, .png, .webp directly in <dir>)
  --workers <n>      worker threads per library, one wasm backend each (default 2)
  --eval <dir>       also score the identity crops of an evaluation set (<dir>/identities/<subject>/<n>.png)
  --json <file>      write the report as JSON
  --only <library>   face-api or human (default both)
  --quick            ${QUICK_IMAGES} images and ${QUICK_CROPS_PER_SUBJECT} crops per subject, for smoke tests
  --help             this text`;

interface RunOptions {
  readonly images: string[];
  readonly workers: number;
  readonly evalDir?: string;
  readonly json?: string;
  readonly libraries: LibraryName[];
  readonly quick: boolean;
}

class UsageError extends Error {}

function parseOptions(argv: string[]): RunOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      images: { type: 'string' },
      workers: { type: 'string', default: '2' },
      eval: { type: 'string' },
      json: { type: 'string' },
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return undefined;
  if (!values.images) throw new UsageError('--images <dir> is required');
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new UsageError('--workers must be an integer from 1 to 64');
  let libraries: LibraryName[] = [...LIBRARY_NAMES];
  if (values.only !== undefined) {
    const one = LIBRARY_SHORT_NAMES[values.only];
    if (!one) throw new UsageError(`--only takes ${Object.keys(LIBRARY_SHORT_NAMES).join(' or ')}`);
    libraries = [one];
  }
  if (!existsSync(values.images)) throw new UsageError(`--images ${values.images}: no such folder`);
  let images = readdirSync(values.images).filter((f) => IMAGE_FILE.test(f)).sort().map((f) => join(values.images!, f));
  if (values.quick) images = images.slice(0, QUICK_IMAGES);
  if (images.length === 0) throw new UsageError(`--images ${values.images}: no .jpg, .png or .webp files in it`);
  if (values.eval !== undefined && !existsSync(join(values.eval, 'identities'))) throw new UsageError(`--eval ${values.eval}: no identities/ folder in it`);
  return { images, workers, evalDir: values.eval, json: values.json, libraries, quick: values.quick };
}

async function runLibrary(library: LibraryName, options: RunOptions): Promise<LibraryReport> {
  process.stderr.write(`${library}: starting ${options.workers} worker(s)…\n`);
  const pool = await LibraryPool.start(library, options.workers);
  try {
    await pool.warmUp(options.images[0]!);
    const started = process.hrtime.bigint();
    const results = await pool.runAll(options.images, false);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const failed = results.filter((r) => r.error);
    if (failed.length > 0) throw new Error(`${library}: ${failed.length} image(s) failed, first: ${failed[0]!.error}`);
    const faces = results.reduce((n, r) => n + r.faces, 0);
    const { version, backend, tfjsVersion, metric } = pool.info;
    if (backend !== 'wasm') throw new Error(`${library} ran on the ${backend} backend, not wasm`);
    let evaluation;
    if (options.evalDir) {
      const crops = listIdentityCrops(options.evalDir, options.quick ? QUICK_CROPS_PER_SUBJECT : Infinity);
      const embedded = await pool.runAll(crops.map((c) => c.path), true);
      const broken = embedded.find((r) => r.error);
      if (broken) throw new Error(`${library} on the identity crops: ${broken.error}`);
      evaluation = evaluateIdentities(crops, embedded.map((r) => r.embedding), metric);
    }
    const n = options.images.length;
    return { library, version, backend, tfjsVersion, workers: pool.workers, images: n, faces, seconds, imagesPerS: n / seconds, facesPerS: faces / seconds, ...(evaluation ? { eval: evaluation } : {}) };
  } finally {
    await pool.close();
  }
}

async function main(argv: string[]): Promise<number> {
  if (!existsSync(join(HERE, 'node_modules', '@vladmandic'))) {
    process.stderr.write('bench/peers/node_modules is missing: run npm ci --prefix bench/peers (from the repository root)\n');
    return 1;
  }
  let options: RunOptions | undefined;
  try {
    options = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) throw err;
    process.stderr.write(`${(err as Error).message} (--help lists the options)\n`);
    return 2;
  }
  if (!options) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const libraries: LibraryReport[] = [];
  for (const library of options.libraries) libraries.push(await runLibrary(library, options));
  const report: PeersReport = { machine: machineInfo(), libraries };
  process.stdout.write(`${formatReport(report)}\n`);
  if (options.json) writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
