#!/usr/bin/env node
// Runs every colocated *.spec.ts under src/ and every *.test.ts under test/ with
// node's own test runner (Node 20's --test takes no globs, so we list files here).
// Extra arguments are passed on, e.g. `npm test -- --test-name-pattern=store`;
// bare paths narrow the run to those files.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir, suffix) {
  let out = [];
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(find(path, suffix));
    else if (name.endsWith(suffix)) out.push(path);
  }
  return out;
}

const args = process.argv.slice(2);
const paths = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-'));
const files = paths.length > 0 ? paths : [...find('src', '.spec.ts'), ...find('test', '.test.ts')].sort();
// A hung test fails after 5 minutes instead of holding CI to its 90-minute limit.
const timeout = flags.some((f) => f.startsWith('--test-timeout')) ? [] : ['--test-timeout=300000'];
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...timeout, ...flags, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
