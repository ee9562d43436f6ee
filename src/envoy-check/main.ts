/**
 * `npm run check:envoy [-- path/to/envoy.yaml]`: checks the Envoy config
 * offline (see check-config.ts); exits 1 and lists every problem on failure.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDescriptorRegistry } from '../server/rest/descriptor.js';
import { loadEnvoyApiRegistry, REPO_ROOT } from './envoy-api-registry.js';
import { checkEnvoyConfig } from './check-config.js';
import { readDeployedFile } from './deployed-files.js';

const configPath = process.argv[2] ?? join(REPO_ROOT, 'envoy/envoy.yaml');
const problems = checkEnvoyConfig(readFileSync(configPath, 'utf8'), {
  envoyRegistry: loadEnvoyApiRegistry(),
  appRegistry: loadDescriptorRegistry(join(REPO_ROOT, 'envoy/descriptor.pb')),
  readDeployedFile,
});
if (problems.length === 0) {
  process.stdout.write(`${configPath}: OK (decoded as envoy.config.bootstrap.v3.Bootstrap; filters, clusters and their balancing, transcoder, JWKS, admin address, health endpoint, stream timeouts and body limit cross-checked)\n`);
} else {
  process.stderr.write(`${configPath}: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  process.exitCode = 1;
}
