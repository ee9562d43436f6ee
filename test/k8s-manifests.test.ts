/**
 * Offline checks of the objects k8s/ deploys (each overlay and the ingest Job
 * as test/support/kustomize-model.ts builds them; no cluster here): every
 * container locked down and sized, Services, probes and NetworkPolicies
 * pointing at ports and pods that exist, every ConfigMap present and every
 * Secret one the README creates, the ingest Job sharded by its completion
 * index, no key shipped, and the Grafana dashboard querying only metrics
 * that src/telemetry/metrics.ts exports.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createMetrics } from '../src/telemetry/metrics.js';
import { METRIC } from '../src/telemetry/names.js';
import { CONFIG_SCHEMA } from '../src/config/schema.js';
import { loadConfig } from '../src/config/load.js';
import { isFacerecError } from '../src/errors.js';
import { envoyProbeTargets } from '../src/envoy-check/index.js';
import { containersOf, podOf, readManifests, renderKustomization, selects, type K8sObject } from './support/kustomize-model.js';

const BUILDS = ['k8s/overlays/single', 'k8s/overlays/cluster', 'k8s/ingest', 'k8s/ingest/postgres'];
const builds = new Map(BUILDS.map((dir) => [dir, renderKustomization(dir).objects]));
const everything = [...builds.values()].flat();
const workloads = everything.filter((o) => podOf(o));
const readme = readFileSync('README.md', 'utf8');

const find = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const hit = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(hit, `${kind}/${name} exists`);
  return hit;
};
const single = builds.get('k8s/overlays/single')!;
const cluster = builds.get('k8s/overlays/cluster')!;
const ingestJob = find(builds.get('k8s/ingest')!, 'Job', 'facerec-ingest');

function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFilesUnder(path);
    return name.endsWith('.yaml') && name !== 'kustomization.yaml' && !path.startsWith('k8s/base/envoy/') ? [path] : [];
  });
}

describe('k8s objects', () => {
  it('every manifest file parses; each object has apiVersion, kind and a DNS name, and no namespace', () => {
    const problems: string[] = [];
    const files = yamlFilesUnder('k8s');
    assert.ok(files.length >= 12);
    for (const file of files) {
      for (const doc of readManifests(file, problems)) {
        assert.equal(typeof doc.apiVersion, 'string', `${file}: apiVersion`);
        assert.equal(typeof doc.kind, 'string', `${file}: kind`);
        assert.match(doc.metadata?.name ?? '', /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, `${file}: metadata.name`);
        assert.equal(doc.metadata.namespace, undefined, `${file}: namespace-agnostic`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('every container runs unprivileged on a read-only root, with RuntimeDefault seccomp, sized, and writes only to /tmp and data volumes', () => {
    assert.ok(workloads.length >= 5);
    for (const workload of workloads) {
      const pod = podOf(workload)!.spec;
      for (const container of containersOf(workload)) {
        const where = `${workload.kind}/${workload.metadata.name} container ${container.name}`;
        const sc = container.securityContext ?? {};
        assert.equal(sc.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation`);
        assert.equal(sc.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
        assert.ok(sc.capabilities?.drop?.includes('ALL'), `${where}: capabilities dropped`);
        assert.notEqual(sc.privileged, true, where);
        assert.equal(sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot, true, `${where}: runAsNonRoot`);
        assert.ok((sc.runAsUser ?? pod.securityContext?.runAsUser) > 0, `${where}: a non-root uid, so runAsNonRoot can be checked`);
        assert.equal((sc.seccompProfile ?? pod.securityContext?.seccompProfile)?.type, 'RuntimeDefault', `${where}: seccomp`);
        const { requests, limits } = container.resources ?? {};
        assert.ok(requests?.cpu && requests?.memory, `${where}: CPU and memory requests`);
        assert.ok(limits?.memory, `${where}: a memory limit`);
        for (const mount of container.volumeMounts ?? []) {
          if (mount.readOnly) continue;
          const volume = (pod.volumes ?? []).find((v: any) => v.name === mount.name);
          const claim = (workload.spec.volumeClaimTemplates ?? []).some((t: any) => t.metadata.name === mount.name);
          assert.ok(claim || volume?.persistentVolumeClaim || volume?.emptyDir, `${where}: writable mount ${mount.mountPath} is a data volume or scratch`);
          if (volume?.emptyDir && !claim) assert.ok(mount.mountPath === '/tmp' || workload.metadata.name === 'qdrant', `${where}: scratch only at /tmp (found ${mount.mountPath})`);
        }
      }
    }
  });

  it('Services and probes target ports their pods expose', () => {
    for (const objects of builds.values()) {
      const pods = objects.filter((o) => podOf(o));
      for (const service of objects.filter((o) => o.kind === 'Service')) {
        const selected = pods.filter((w) => selects(service.spec.selector, podOf(w)!.metadata.labels));
        assert.ok(selected.length > 0, `Service ${service.metadata.name} selects pods`);
        for (const workload of selected) {
          const names = new Set(containersOf(workload).flatMap((c) => (c.ports ?? []).map((p: any) => p.name)));
          for (const port of service.spec.ports) assert.ok(names.has(port.targetPort), `${service.metadata.name}:${port.targetPort} on ${workload.metadata.name}`);
        }
      }
      for (const workload of pods) {
        for (const container of containersOf(workload)) {
          const ports = new Map<string | number, number>((container.ports ?? []).flatMap((p: any) => [[p.name, p.containerPort], [p.containerPort, p.containerPort]]));
          for (const name of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
            const probe = container[name];
            if (!probe) continue;
            const port = probe.grpc?.port ?? probe.httpGet?.port ?? probe.tcpSocket?.port;
            assert.ok(ports.has(port), `${workload.metadata.name}/${container.name} ${name} port ${port} is a container port`);
          }
        }
      }
    }
  });

  it('NetworkPolicies select existing pods, admit them on ports those pods expose, and leave Qdrant to facerec', () => {
    for (const [dir, objects] of builds) {
      const pods = objects.filter((o) => podOf(o));
      for (const policy of objects.filter((o) => o.kind === 'NetworkPolicy')) {
        const targets = pods.filter((w) => selects(policy.spec.podSelector, podOf(w)!.metadata.labels));
        assert.ok(targets.length > 0, `${dir}: NetworkPolicy ${policy.metadata.name} selects pods`);
        const portNames = new Set(targets.flatMap((w) => containersOf(w).flatMap((c) => (c.ports ?? []).flatMap((p: any) => [p.name, p.containerPort]))));
        for (const rule of policy.spec.ingress ?? []) {
          for (const port of rule.ports ?? []) assert.ok(portNames.has(port.port), `${dir}: ${policy.metadata.name} port ${port.port}`);
          for (const peer of rule.from ?? []) {
            // A peer in another namespace (Prometheus) is the operator's; in-namespace peers must be pods we deploy.
            if (peer.namespaceSelector) continue;
            const known = [...builds.values()].flat().filter((o) => podOf(o));
            assert.ok(known.some((w) => selects(peer.podSelector, podOf(w)!.metadata.labels)), `${dir}: ${policy.metadata.name} admits ${JSON.stringify(peer.podSelector)}, which no pod carries`);
          }
        }
      }
    }
    const admits = (objects: K8sObject[], policyName: string, from: K8sObject, port: string) => {
      const policy = find(objects, 'NetworkPolicy', policyName);
      return policy.spec.ingress.some((rule: any) => rule.ports.some((p: any) => p.port === port) && rule.from.some((peer: any) => !peer.namespaceSelector && selects(peer.podSelector, podOf(from)!.metadata.labels)));
    };
    const facerec = find(cluster, 'Deployment', 'facerec');
    const envoy = find(cluster, 'Deployment', 'envoy');
    assert.ok(admits(cluster, 'facerec', envoy, 'grpc'), 'Envoy reaches facerec');
    assert.ok(admits(cluster, 'facerec', ingestJob, 'grpc'), 'the ingest Job reaches facerec');
    assert.ok(admits(cluster, 'qdrant', facerec, 'http'), 'facerec reaches Qdrant');
    assert.ok(!admits(cluster, 'qdrant', envoy, 'http') && !admits(cluster, 'qdrant', ingestJob, 'http'), 'nothing else reaches Qdrant');
    const metrics = find(cluster, 'NetworkPolicy', 'facerec').spec.ingress.find((rule: any) => rule.ports.some((p: any) => p.port === 'metrics'));
    assert.ok(metrics.from.every((peer: any) => peer.podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'prometheus'), 'metrics from Prometheus only');
  });

  it('every ConfigMap a pod uses is deployed with it, and every Secret is one the README creates', () => {
    for (const [dir, objects] of builds) {
      for (const workload of objects.filter((o) => podOf(o))) {
        const pod = podOf(workload)!.spec;
        const configMaps = [
          ...(pod.volumes ?? []).flatMap((v: any) => (v.configMap ? [v.configMap.name] : [])),
          ...containersOf(workload).flatMap((c) => [...(c.envFrom ?? []).flatMap((e: any) => (e.configMapRef ? [e.configMapRef.name] : [])), ...(c.env ?? []).flatMap((e: any) => (e.valueFrom?.configMapKeyRef ? [e.valueFrom.configMapKeyRef.name] : []))]),
        ];
        // The ingest Job runs next to an overlay, in the same namespace.
        const available = dir.startsWith('k8s/ingest') ? [...objects, ...single] : objects;
        for (const name of configMaps) find(available, 'ConfigMap', name);
        const secrets = [
          ...(pod.volumes ?? []).flatMap((v: any) => (v.secret ? [v.secret.secretName] : [])),
          ...containersOf(workload).flatMap((c) => [...(c.envFrom ?? []).flatMap((e: any) => (e.secretRef ? [e.secretRef.name] : [])), ...(c.env ?? []).flatMap((e: any) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef.name] : []))]),
        ];
        for (const name of secrets) assert.ok(readme.includes(`kubectl create secret generic ${name} `), `${dir}: the README creates Secret ${name}`);
      }
      for (const object of objects) assert.notEqual(object.kind, 'Secret', `${dir}: Secret ${object.metadata.name} ships a value; create it with kubectl instead (README)`);
    }
  });

  it('the ingest Job: Indexed, one shard per completion index, resumable from checkpoints on its volume, against the facerec Service', () => {
    for (const dir of ['k8s/ingest', 'k8s/ingest/postgres']) {
      const job = find(builds.get(dir)!, 'Job', 'facerec-ingest');
      assert.equal(job.spec.completionMode, 'Indexed');
      assert.equal(job.spec.parallelism, job.spec.completions);
      const container = containersOf(job)[0];
      const args: string[] = container.args;
      assert.equal(args[0], 'ingest');
      const shard = args[args.indexOf('--shard') + 1];
      assert.equal(shard, `$(JOB_COMPLETION_INDEX)/${job.spec.completions}`, `${dir}: --shard index/N with N = completions`);
      assert.ok(args.includes('--resume'));
      for (const flag of ['--checkpoint', '--report']) {
        const path = args[args.indexOf(flag) + 1]!;
        assert.match(path, /\$\(JOB_COMPLETION_INDEX\)/, `${dir}: ${flag} per shard`);
        const mount = container.volumeMounts.find((m: any) => path.startsWith(`${m.mountPath}/`));
        assert.ok(mount && !mount.readOnly, `${dir}: ${flag} ${path} on a writable volume`);
        const volume = podOf(job)!.spec.volumes.find((v: any) => v.name === mount.name);
        const claims = readManifests('k8s/ingest/ingest-volume.yaml', []);
        find(claims, 'PersistentVolumeClaim', volume.persistentVolumeClaim.claimName);
      }
      const server = container.env.find((e: any) => e.name === 'FACEREC_SERVER').value as string;
      const [host, port] = server.split(':');
      const service = find(single, 'Service', host!);
      assert.ok(service.spec.ports.some((p: any) => p.port === Number(port) && p.targetPort === 'grpc'), `${server} is facerec's gRPC port`);
      assert.ok(container.env.some((e: any) => e.name === 'FACEREC_TOKEN' && e.valueFrom?.secretKeyRef), 'the token from a Secret');
      assert.equal(podOf(job)!.metadata.labels?.['facerec-client'], 'true');
    }
    const postgres = containersOf(find(builds.get('k8s/ingest/postgres')!, 'Job', 'facerec-ingest'))[0];
    assert.ok(postgres.args.includes('--query'));
    assert.ok(!postgres.volumeMounts.some((m: any) => m.mountPath === '/ingest/photos'), 'no photos volume for the PostgreSQL source');
  });

  it('facerec: its ports, gRPC probes, settings the server knows, and a Secret without which it does not start', () => {
    for (const objects of [single, cluster]) {
      const container = containersOf(find(objects, 'Deployment', 'facerec'))[0];
      const ports = Object.fromEntries(container.ports.map((p: any) => [p.name, p.containerPort]));
      const config = find(objects, 'ConfigMap', container.envFrom[0].configMapRef.name).data!;
      assert.deepEqual(ports, { grpc: Number(config['GRPC_PORT']), rest: Number(config['REST_PORT']), metrics: Number(config['METRICS_PORT']) });
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) assert.equal(container[probe].grpc.port, ports.grpc, probe);
      const secretRef = container.env.find((e: any) => e.name === 'AUTH_SECRET_KEY').valueFrom.secretKeyRef;
      assert.deepEqual([secretRef.name, secretRef.key], ['facerec-auth', 'AUTH_SECRET_KEY']);
      assert.notEqual(secretRef.optional, true, 'no Secret, no pod: never a server with auth off');
      const known = new Set<string>();
      const walk = (node: any) => (typeof node?.env === 'string' ? known.add(node.env) : Object.values(node ?? {}).forEach((v) => typeof v === 'object' && walk(v)));
      walk(CONFIG_SCHEMA);
      for (const name of Object.keys(config)) assert.ok(known.has(name) || name.startsWith('OTEL_'), `unknown setting ${name}`);
      for (const entry of container.env) assert.ok(known.has(entry.name) || /^(POD_|OTEL_)/.test(entry.name), `unknown setting ${entry.name}`);
      // The threads that run the models match the CPU the container may use.
      assert.equal(Number(config['FACEREC_PIPELINE__INFERENCE_WORKERS']), Number(container.resources.limits.cpu));
      // The settings as the server parses them, with a key as the README makes one.
      const env = { ...config, AUTH_SECRET_KEY: randomBytes(48).toString('base64'), QDRANT_API_KEY: 'k' };
      assert.throws(() => loadConfig({ env: config }), (error: unknown) => isFacerecError(error, 'CONFIG_INVALID') && /AUTH_SECRET_KEY is not set/.test(error.message));
      assert.equal(loadConfig({ env }).auth.required, true);
    }
    assert.equal(loadConfig({ env: { ...find(cluster, 'ConfigMap', 'facerec-config').data, AUTH_SECRET_KEY: randomBytes(48).toString('base64') } }).store.qdrantReplicationFactor, 2);
  });

  it('wires the collector and Envoy by the names their configs use', () => {
    const envoyConfig = parse(readFileSync('envoy/envoy.yaml', 'utf8'));
    const collectorAddress = envoyConfig.static_resources.clusters.find((c: any) => c.name === 'otel_collector').load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
    const collectorService = find(cluster, 'Service', collectorAddress.address);
    assert.ok(collectorService.spec.ports.some((p: any) => p.port === collectorAddress.port_value));
    assert.equal(find(cluster, 'ConfigMap', 'facerec-config').data!['OTEL_EXPORTER_OTLP_ENDPOINT'], `http://${collectorAddress.address}:${collectorAddress.port_value}`);
    const collector = parse(find(cluster, 'ConfigMap', 'otel-collector-config').data!['collector.yaml'] ?? '');
    const traces = collector.service.pipelines.traces;
    assert.deepEqual(traces.receivers, ['otlp']);
    assert.ok(traces.processors.includes('batch'));
    assert.deepEqual([...traces.exporters].sort(), ['debug', 'otlp']);
    assert.equal(collector.receivers.otlp.protocols.grpc.endpoint, '0.0.0.0:4317');
    const envoy = podOf(find(cluster, 'Deployment', 'envoy'))!.spec;
    const configMap = find(cluster, 'ConfigMap', envoy.volumes.find((v: any) => v.name === 'config').configMap.name);
    assert.deepEqual(Object.keys(configMap.data!).sort(), ['descriptor.pb', 'envoy.yaml']);
    const mount = envoy.containers[0].volumeMounts.find((m: any) => m.name === 'config').mountPath;
    assert.deepEqual(envoy.containers[0].args.slice(0, 2), ['-c', `${mount}/envoy.yaml`]);
    const jwks = envoy.volumes.find((v: any) => v.name === 'jwks').secret;
    assert.deepEqual([jwks.secretName, jwks.items.map((i: any) => i.key)], ['facerec-envoy-jwks', ['jwks.json']]);
    assert.notEqual(jwks.optional, true, 'Envoy without its JWKS must not start');
  });

  it('ships no secret values as literals', () => {
    for (const workload of workloads) {
      for (const container of containersOf(workload)) {
        for (const entry of container.env ?? []) assert.ok(!/SECRET|API_KEY|TOKEN|PASSWORD/.test(entry.name) || entry.value === undefined, `${workload.metadata.name}: ${entry.name} has a literal value`);
      }
    }
    for (const configMap of everything.filter((o) => o.kind === 'ConfigMap' && o.metadata.name === 'facerec-config')) {
      for (const name of Object.keys(configMap.data ?? {})) assert.ok(!/SECRET|API_KEY|TOKEN/.test(name), `ConfigMap sets ${name}`);
      assert.equal(configMap.data!['FACEREC_AUTH__REQUIRED'], 'true');
    }
  });

  it('the README creates the Secrets from one key, the ingest token and the Qdrant key without writing them to disk', () => {
    const commands = [
      /kubectl create secret generic facerec-auth --from-literal=AUTH_SECRET_KEY="\$KEY"/,
      /kubectl create secret generic facerec-envoy-jwks --from-file=jwks\.json=<\(AUTH_SECRET_KEY="\$KEY" npx facerec jwks\)/,
      /kubectl create secret generic qdrant-api-key --from-literal=api-key="\$\(openssl rand -base64 48\)"/,
      /kubectl create secret generic facerec-ingest-token --from-literal=FACEREC_TOKEN="\$\(AUTH_SECRET_KEY="\$KEY" AUTH_ISSUER=facerec AUTH_AUDIENCE=facerec-api npx facerec token --scope faces:write/,
    ];
    for (const command of commands) assert.ok(command.test(readme), `the README runs ${command.source}`);
  });

  it('probes Envoy on its health endpoint, never on the loopback-only admin port', () => {
    const targets = envoyProbeTargets(readFileSync('envoy/envoy.yaml', 'utf8'));
    assert.ok(targets.health.length > 0, 'envoy.yaml answers a health path');
    const container = containersOf(find(cluster, 'Deployment', 'envoy'))[0];
    const portOf = (port: string | number) => (typeof port === 'number' ? port : container.ports.find((p: any) => p.name === port)?.containerPort);
    assert.ok(!container.ports.some((p: any) => p.containerPort === targets.adminPort), 'admin is not a container port');
    for (const name of ['readinessProbe', 'livenessProbe']) {
      const probe = container[name].httpGet;
      const port = portOf(probe.port);
      assert.notEqual(port, targets.adminPort, `${name} on the admin port`);
      assert.ok(targets.health.some((h) => h.port === port && h.path === probe.path), `${name} ${probe.path} on ${port} is not a health endpoint of envoy.yaml`);
    }
  });

  it('gives the server the issuer and audience Envoy checks', () => {
    const envoy = parse(readFileSync('envoy/envoy.yaml', 'utf8'));
    const hcm = envoy.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    const provider = hcm.http_filters.find((f: any) => f.name === 'envoy.filters.http.jwt_authn').typed_config.providers.facerec;
    const config = find(cluster, 'ConfigMap', 'facerec-config').data!;
    assert.equal(config['AUTH_ISSUER'], provider.issuer);
    assert.ok(provider.audiences.includes(config['AUTH_AUDIENCE']), `${config['AUTH_AUDIENCE']} is one of ${provider.audiences}`);
  });
});

describe('Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync('k8s/base/grafana/facerec-dashboard.json', 'utf8'));
  const exprs: string[] = [
    ...dashboard.panels.flatMap((p: any) => (p.targets ?? []).map((t: any) => t.expr as string)),
    ...dashboard.templating.list.filter((v: any) => v.type === 'query').map((v: any) => v.query as string),
  ];
  const referenced = new Set(exprs.flatMap((e) => [...e.matchAll(/\b((?:facerec|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1]!)));

  it('queries only metrics the registry exports', async () => {
    const metrics = await createMetrics().registry.getMetricsAsJSON();
    const exported = new Set<string>();
    for (const m of metrics) {
      exported.add(m.name);
      if (String(m.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(m.name + suffix);
    }
    assert.ok(referenced.size > 10);
    for (const name of referenced) assert.ok(exported.has(name), `dashboard references ${name}, which metrics.ts does not export`);
  });

  it('shows every facerec metric, with unique panel ids', () => {
    const bases = new Set([...referenced].map((n) => n.replace(/_(bucket|sum|count)$/, '')));
    for (const name of Object.values(METRIC)) assert.ok(bases.has(name), `${name} is on the dashboard`);
    const ids = dashboard.panels.map((p: any) => p.id);
    assert.equal(new Set(ids).size, ids.length);
  });
});
