/**
 * `npm run gen` ends here: copies the Envoy config and the descriptor set it
 * reads into k8s/base/envoy/, where the base kustomization's configMapGenerator
 * takes them. `kubectl apply -k` refuses files outside the kustomization's
 * folder, so the kustomization cannot name ../../envoy/ itself.
 * test/k8s-kustomize.test.ts checks that the copies equal their sources.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Source → copy, relative to the repository root. */
export const K8S_ENVOY_COPIES: ReadonlyArray<{ readonly source: string; readonly copy: string }> = [
  { source: 'envoy/envoy.yaml', copy: 'k8s/base/envoy/envoy.yaml' },
  { source: 'envoy/descriptor.pb', copy: 'k8s/base/envoy/descriptor.pb' },
];

export function copyEnvoyIntoK8s(): void {
  for (const { source, copy } of K8S_ENVOY_COPIES) {
    mkdirSync(dirname(join(root, copy)), { recursive: true });
    copyFileSync(join(root, source), join(root, copy));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) copyEnvoyIntoK8s();
