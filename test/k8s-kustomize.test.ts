/**
 * The kustomize layout of k8s/, checked offline (no kustomize or kubectl on
 * the project's machines; test/support/kustomize-model.ts models the parts
 * of kustomize the files use): every file a kustomization names exists, every
 * patch targets an object of its base, the Envoy files copied into the base
 * equal their sources, and each overlay builds what it promises.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { K8S_ENVOY_COPIES } from '../scripts/k8s-envoy-copies.js';
import { containersOf, podOf, renderKustomization, selects, type K8sObject, type Rendered } from './support/kustomize-model.js';

const KUSTOMIZATIONS = ['k8s/base', 'k8s/components/servicemonitor', 'k8s/overlays/single', 'k8s/overlays/cluster', 'k8s/ingest', 'k8s/ingest/postgres'];

const find = (rendered: Rendered, kind: string, name: string): K8sObject => {
  const hit = rendered.objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(hit, `${kind}/${name} is in the build`);
  return hit;
};
const envOf = (container: any, name: string) => (container.env ?? []).find((e: any) => e.name === name);

describe('k8s kustomizations', () => {
  for (const dir of KUSTOMIZATIONS) {
    it(`${dir}: every resource, component, patch and generated file exists, and every patch hits an object`, () => {
      const rendered = renderKustomization(dir);
      assert.deepEqual(rendered.problems, []);
      assert.ok(rendered.objects.length > 0);
      const names = rendered.objects.map((o) => `${o.kind}/${o.metadata.name}`);
      assert.equal(new Set(names).size, names.length, `no object twice: ${names.join(', ')}`);
    });
  }

  it('the base holds byte-for-byte copies of the Envoy config and descriptor (npm run gen)', () => {
    const base = parse(readFileSync('k8s/base/kustomization.yaml', 'utf8'));
    const generated = (base.configMapGenerator as Array<{ name: string; files: string[] }>).find((g) => g.name === 'envoy-config')!.files;
    for (const { source, copy } of K8S_ENVOY_COPIES) {
      assert.ok(generated.includes(copy.replace('k8s/base/', '')), `envoy-config is generated from ${copy}`);
      assert.ok(readFileSync(copy).equals(readFileSync(source)), `${copy} differs from ${source}: run npm run gen`);
    }
  });

  it('single: one replica on the embedded gallery, replaced with Recreate, no Qdrant and no autoscaler', () => {
    const single = renderKustomization('k8s/overlays/single');
    const deployment = find(single, 'Deployment', 'facerec');
    assert.equal(deployment.spec.replicas, 1);
    assert.equal(deployment.spec.strategy.type, 'Recreate');
    const pod = podOf(deployment)!.spec;
    const config = find(single, 'ConfigMap', 'facerec-config').data!;
    assert.equal(config['QDRANT_URL'], undefined);
    const mount = pod.containers[0].volumeMounts.find((m: any) => m.mountPath === config['DATA_DIR']);
    assert.ok(mount, 'DATA_DIR is a mounted volume');
    const claim = pod.volumes.find((v: any) => v.name === mount.name).persistentVolumeClaim.claimName;
    assert.deepEqual(find(single, 'PersistentVolumeClaim', claim).spec.accessModes, ['ReadWriteOnce']);
    assert.ok(!single.objects.some((o) => o.kind === 'HorizontalPodAutoscaler'), 'the embedded gallery has one writer');
    assert.ok(!single.objects.some((o) => o.metadata.name.startsWith('qdrant')));
  });

  it('cluster: autoscaled stateless facerec on a replicated 3-node Qdrant, its API key from one Secret', () => {
    const cluster = renderKustomization('k8s/overlays/cluster');
    const deployment = find(cluster, 'Deployment', 'facerec');
    assert.equal(deployment.spec.replicas, undefined, 'the autoscaler owns the replica count');
    assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0);
    const pod = podOf(deployment)!.spec;
    assert.deepEqual(pod.volumes.map((v: any) => Object.keys(v).filter((k) => k !== 'name')), [['emptyDir']], 'no volume but /tmp');
    const hpa = find(cluster, 'HorizontalPodAutoscaler', 'facerec');
    assert.deepEqual([hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name], ['Deployment', 'facerec']);
    assert.ok(hpa.spec.minReplicas >= 2);

    const config = find(cluster, 'ConfigMap', 'facerec-config').data!;
    const qdrantUrl = new URL(config['QDRANT_URL']!);
    const service = find(cluster, 'Service', qdrantUrl.hostname);
    const statefulSet = find(cluster, 'StatefulSet', 'qdrant');
    assert.ok(selects(service.spec.selector, podOf(statefulSet)!.metadata.labels));
    const servicePort = service.spec.ports.find((p: any) => p.port === Number(qdrantUrl.port));
    const qdrant = podOf(statefulSet)!.spec.containers[0];
    assert.equal(qdrant.ports.find((p: any) => p.name === servicePort.targetPort).containerPort, 6333, 'QDRANT_URL reaches the REST port');

    const nodes = statefulSet.spec.replicas;
    const replication = Number(config['FACEREC_STORE__QDRANT_REPLICATION_FACTOR']);
    const shards = Number(config['FACEREC_STORE__QDRANT_SHARD_NUMBER']);
    assert.ok(replication >= 2 && replication <= nodes, `each shard on ${replication} of ${nodes} nodes: losing one loses nothing`);
    assert.ok(shards >= nodes, `${shards} shards spread over ${nodes} nodes`);
    assert.equal(envOf(qdrant, 'QDRANT__CLUSTER__ENABLED').value, 'true');
    assert.ok(statefulSet.spec.volumeClaimTemplates.some((t: any) => qdrant.volumeMounts.some((m: any) => m.name === t.metadata.name && m.mountPath === envOf(qdrant, 'QDRANT__STORAGE__STORAGE_PATH').value)), 'storage on a persistent volume');
    const peers = find(cluster, 'Service', statefulSet.spec.serviceName);
    assert.equal(peers.spec.clusterIP, 'None');
    assert.equal(peers.spec.publishNotReadyAddresses, true);
    const start = find(cluster, 'ConfigMap', 'qdrant-start').data!['start.sh']!;
    assert.match(start, new RegExp(`${statefulSet.metadata.name}-0\\.${peers.metadata.name}:6335`), 'nodes join through node 0 by its stable name');

    const serverKey = envOf(pod.containers[0], 'QDRANT_API_KEY').valueFrom.secretKeyRef;
    const qdrantKey = envOf(qdrant, 'QDRANT__SERVICE__API_KEY').valueFrom.secretKeyRef;
    assert.deepEqual(serverKey, qdrantKey, 'facerec and Qdrant read the same Secret key');
  });

  it('cluster: a PodDisruptionBudget for facerec, Envoy and Qdrant, each selecting its pods', () => {
    const cluster = renderKustomization('k8s/overlays/cluster');
    const budgets = cluster.objects.filter((o) => o.kind === 'PodDisruptionBudget');
    for (const name of ['facerec', 'envoy', 'qdrant']) {
      const budget = budgets.find((b) => b.metadata.name === name);
      assert.ok(budget, `PodDisruptionBudget ${name}`);
      const workloads = cluster.objects.filter((o) => podOf(o) && selects(budget.spec.selector, podOf(o)!.metadata.labels));
      assert.deepEqual(workloads.map((w) => w.metadata.name), [name]);
      assert.equal(budget.spec.maxUnavailable, 1);
    }
  });

  it('both overlays: Envoy balances per request over every facerec pod through a headless Service', () => {
    const envoy = parse(readFileSync('k8s/base/envoy/envoy.yaml', 'utf8'));
    const cluster = envoy.static_resources.clusters.find((c: any) => c.name === 'facerec_grpc');
    assert.equal(cluster.type, 'STRICT_DNS');
    const address = cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
    for (const overlay of ['k8s/overlays/single', 'k8s/overlays/cluster']) {
      const rendered = renderKustomization(overlay);
      const service = find(rendered, 'Service', address.address);
      assert.equal(service.spec.clusterIP, 'None', `${address.address} must be headless: a ClusterIP resolves to one address, and Envoy's one connection to it reaches one pod`);
      const deployment = find(rendered, 'Deployment', 'facerec');
      assert.ok(selects(service.spec.selector, podOf(deployment)!.metadata.labels));
      const port = service.spec.ports.find((p: any) => p.port === address.port_value);
      const container = containersOf(deployment)[0];
      assert.equal(container.ports.find((p: any) => p.name === port.targetPort)?.containerPort, address.port_value, 'a headless Service resolves to pod IPs: the port must be the container port');
    }
  });

  it('the ServiceMonitor is an optional component that selects the facerec Service', () => {
    const component = renderKustomization('k8s/components/servicemonitor');
    assert.equal(parse(readFileSync('k8s/components/servicemonitor/kustomization.yaml', 'utf8')).kind, 'Component');
    const monitor = find(component, 'ServiceMonitor', 'facerec');
    const base = renderKustomization('k8s/base');
    const services = base.objects.filter((o) => o.kind === 'Service' && selects(monitor.spec.selector, o.metadata.labels));
    assert.ok(services.some((s) => s.spec.ports.some((p: any) => p.name === monitor.spec.endpoints[0].port)), 'a selected Service has the metrics port');
  });
});
