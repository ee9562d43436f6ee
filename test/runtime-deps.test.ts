/**
 * What `facerec serve` loads must come from `dependencies`: the Docker image
 * runs after `npm prune --omit=dev`. Follows static and dynamic imports from
 * the bin's two entry modules through src/ and checks every package named.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { it } from 'node:test';

const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

it('the server and CLI import only runtime dependencies', () => {
  const seen = new Set<string>();
  const packages = new Map<string, string>();
  const queue = ['src/telemetry/register.ts', 'src/cli/main.ts'].map((f) => join(root, f));
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8').replace(/^\s*import\s+type\s[^;]*;/gm, '');
    for (const match of source.matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2] ?? match[3]!;
      if (specifier.startsWith('.')) queue.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else if (!specifier.startsWith('node:') && !builtinModules.includes(specifier)) packages.set(packageOf(specifier), file);
    }
  }
  assert.ok(seen.size > 30, `followed only ${seen.size} modules`);
  for (const [name, file] of packages) {
    assert.ok(name in pkg.dependencies, `${file.slice(root.length + 1)} imports ${name}, which is not in dependencies`);
  }
});
