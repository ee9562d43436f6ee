/**
 * envoy.yaml names files by where a deployment mounts them
 * (/etc/envoy/descriptor.pb, /etc/envoy/jwks/jwks.json); the offline check
 * reads the repository's counterparts instead, matched by file name.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { REPO_ROOT } from './envoy-api-registry.js';

export const DEPLOYED_FILES: Readonly<Record<string, string>> = {
  'descriptor.pb': 'envoy/descriptor.pb',
  'jwks.json': 'envoy/jwks.example.json',
};

export function readDeployedFile(path: string): string | undefined {
  const local = DEPLOYED_FILES[basename(path)];
  if (!local) return undefined;
  try {
    return readFileSync(join(REPO_ROOT, local), 'latin1');
  } catch {
    return undefined;
  }
}
