/**
 * What `facerec serve` (and `facerec ingest`, in the same image) loads must
 * come from `dependencies`: the Docker image runs after `npm prune
 * --omit=dev`. Follows static and dynamic imports from the bin's two entry
 * modules through src/ and checks every package named. The packages the
 * Dockerfile deletes from the image after pruning must be optional and
 * loaded only on demand (a dynamic import that can fail), never at start-up.
 * And the other way round: every dependency is something the runtime
 * imports, so build tools (typescript, tsx) stay out of the image.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { it } from 'node:test';

const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; optionalDependencies?: Record<string, string> };
const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

interface RuntimeImports {
  readonly modules: number;
  /** Package → a file that imports it statically. */
  readonly staticImports: Map<string, string>;
  /** Package → a file that imports it with import(). */
  readonly dynamicImports: Map<string, string>;
}

function runtimeImports(): RuntimeImports {
  const seen = new Set<string>();
  const staticImports = new Map<string, string>();
  const dynamicImports = new Map<string, string>();
  const queue = ['src/telemetry/register.ts', 'src/cli/main.ts'].map((f) => join(root, f));
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8').replace(/^\s*import\s+type\s[^;]*;/gm, '');
    for (const match of source.matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2] ?? match[3]!;
      if (specifier.startsWith('.')) queue.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else if (!specifier.startsWith('node:') && !builtinModules.includes(specifier)) (match[2] ? dynamicImports : staticImports).set(packageOf(specifier), file);
    }
  }
  return { modules: seen.size, staticImports, dynamicImports };
}

const relative = (file: string) => file.slice(root.length + 1);

it('the server and CLI import only runtime dependencies', () => {
  const { modules, staticImports, dynamicImports } = runtimeImports();
  assert.ok(modules > 30, `followed only ${modules} modules`);
  for (const [name, file] of [...staticImports, ...dynamicImports]) {
    const declared = name in pkg.dependencies || name in (pkg.optionalDependencies ?? {});
    assert.ok(declared, `${relative(file)} imports ${name}, which is not in dependencies`);
  }
  for (const [name, file] of staticImports) assert.ok(name in pkg.dependencies, `${relative(file)} imports optional ${name} statically: load it with import() so the server starts without it`);
});

it('every runtime dependency is imported by the server or the CLI (build tools are devDependencies)', () => {
  const { staticImports, dynamicImports } = runtimeImports();
  for (const name of Object.keys(pkg.dependencies)) {
    assert.ok(staticImports.has(name) || dynamicImports.has(name), `${name} is in dependencies but nothing the server or CLI runs imports it: move it to devDependencies or remove it`);
  }
});

it('what the Dockerfile deletes from the image is optional and loaded only on demand', () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const removed = [...dockerfile.matchAll(/rm -rf[^\n]*?node_modules\/(@?[\w.-]+)/g)].map((m) => m[1]!);
  assert.ok(removed.includes('@ffmpeg-installer'), 'the server image leaves out ffmpeg');
  const { staticImports } = runtimeImports();
  const optional = Object.keys(pkg.optionalDependencies ?? {});
  for (const scope of removed) {
    const inScope = (name: string) => name === scope || name.startsWith(`${scope}/`);
    assert.ok(optional.some(inScope), `${scope} is an optional dependency`);
    assert.ok(!Object.keys(pkg.dependencies).some(inScope), `${scope} is not a runtime dependency`);
    for (const [name, file] of staticImports) assert.ok(!inScope(name), `${relative(file)} imports ${name} statically, but the image has no ${scope}`);
  }
});
