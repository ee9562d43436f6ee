/**
 * Every object each kustomization deploys, as test/support/kustomize-model.ts
 * builds it (patches applied), validated against the Kubernetes API schemas
 * that the kubernetes-models package ships (the 4.x line, which runs on
 * Node 20). This catches a misspelt field, a wrong type or a missing required
 * field that only `kubectl apply` would otherwise report. Custom resources
 * the package does not know (the Prometheus operator's ServiceMonitor) are
 * checked by test/k8s-manifests.test.ts instead.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { renderKustomization, type K8sObject } from './support/kustomize-model.js';

const BUILDS = ['k8s/overlays/single', 'k8s/overlays/cluster', 'k8s/ingest', 'k8s/ingest/postgres', 'k8s/components/servicemonitor'];
const CUSTOM_KINDS = new Set(['monitoring.coreos.com/v1/ServiceMonitor']);

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/** kubernetes-models keeps one module per kind: `v1/Service`, `apps/v1/Deployment`, `networking.k8s.io/v1/NetworkPolicy`. */
async function modelOf(object: K8sObject): Promise<ModelClass> {
  const path = `kubernetes-models/${object.apiVersion}/${object.kind}`;
  const module = (await import(path)) as Record<string, ModelClass>;
  const model = module[object.kind];
  assert.ok(model, `${path} exports ${object.kind}`);
  return model;
}

describe('k8s objects validate against the Kubernetes API schemas', () => {
  for (const dir of BUILDS) {
    it(dir, async () => {
      const objects = renderKustomization(dir).objects;
      assert.ok(objects.length > 0, `${dir} builds objects`);
      for (const object of objects) {
        if (CUSTOM_KINDS.has(`${object.apiVersion}/${object.kind}`)) continue;
        const Model = await modelOf(object);
        assert.doesNotThrow(() => new Model(object).validate(), (error: Error) => {
          throw new Error(`${dir}: ${object.kind}/${object.metadata.name}: ${error.message}`);
        });
      }
    });
  }
});
