#!/usr/bin/env node
// Runs the test suite, or one tier of it, with node's own test runner (Node 20's
// --test takes no globs, so the files are listed here).
//
//   node scripts/run-tests.mjs                  `npm test`: every spec under src/ and every
//                                               end-to-end test under test/, benchmarks aside
//   node scripts/run-tests.mjs --tier=unit      `npm run test:unit`: the specs that load no
//                                               model and open no socket (well under a minute)
//   node scripts/run-tests.mjs --tier=bench     `npm run test:bench`: the benchmark smoke tests
//   node scripts/run-tests.mjs <file>...        just these files, whatever their tier
//
// Other arguments are passed on to node --test, e.g. `--test-name-pattern=store`.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

// Specs that load the built ONNX models or listen on a socket (an OTLP receiver,
// the metrics endpoint, the Qdrant test double). They are real and run in
// `npm test`; the unit tier leaves them out so it stays fast and needs nothing
// but the source. A new spec of that kind belongs in this list.
const NEEDS_MODELS_OR_SOCKETS = new Set([
  'src/batching/runner.spec.ts',
  'src/models/derive.spec.ts',
  'src/models/prepare.spec.ts',
  'src/pipeline/align.spec.ts',
  'src/pipeline/face-image-ops.spec.ts',
  'src/pipeline/inference-pool.spec.ts',
  'src/store/qdrant/adapter-fake.spec.ts',
  'src/store/validate.spec.ts',
  'src/telemetry/metrics.spec.ts',
  'src/telemetry/tracing.spec.ts',
]);

// Smoke tests of the benchmarks: each runs a short benchmark in child processes,
// which takes minutes on a small machine and checks the report's shape, not the
// server's behaviour.
const isBench = (path) => /^test\/bench-[^/]*\.test\.ts$/.test(path);

function find(dir, suffix) {
  let out = [];
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(find(path, suffix));
    else if (name.endsWith(suffix)) out.push(path.split('\\').join('/'));
  }
  return out;
}

const TIERS = {
  default: () => [...find('src', '.spec.ts'), ...find('test', '.test.ts').filter((p) => !isBench(p))],
  unit: () => find('src', '.spec.ts').filter((p) => !NEEDS_MODELS_OR_SOCKETS.has(p)),
  bench: () => find('test', '.test.ts').filter(isBench),
};

const args = process.argv.slice(2);
const tierArg = args.find((a) => a.startsWith('--tier='));
const tier = tierArg ? tierArg.slice('--tier='.length) : 'default';
if (!(tier in TIERS)) {
  console.error(`run-tests: unknown tier "${tier}" (one of ${Object.keys(TIERS).join(', ')})`);
  process.exit(2);
}
const rest = args.filter((a) => a !== tierArg);
const paths = rest.filter((a) => !a.startsWith('-'));
const flags = rest.filter((a) => a.startsWith('-'));
const files = paths.length > 0 ? paths : TIERS[tier]().sort();
// A hung test fails after 5 minutes instead of holding CI to its 90-minute limit.
const timeout = flags.some((f) => f.startsWith('--test-timeout')) ? [] : ['--test-timeout=300000'];
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...timeout, ...flags, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
