/**
 * A model of the part of kustomize that k8s/ uses, for offline tests: no
 * kustomize, kubectl or npm package that renders kustomizations runs on the
 * project's machines. It reads a kustomization's resources (files, and
 * folders with their own kustomization), components, strategic-merge patches,
 * configMapGenerator files, `labels` and `images`, and builds the objects an
 * overlay would apply. Patches merge maps, delete keys set to null, merge
 * lists of containers, volumes, env, ports and mounts by their key (honouring
 * `$patch: delete`) and replace other lists, as Kubernetes' strategic merge
 * does for these fields. It is not kustomize: name suffixes, vars,
 * replacements and JSON6902 patches are not modelled, and anything it does
 * not model is reported as a problem rather than ignored.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  [key: string]: any;
}

export interface Rendered {
  readonly objects: K8sObject[];
  /** Every file a kustomization names that is missing, every patch that matches nothing, every field not modelled. */
  readonly problems: string[];
  /** Every kustomization file read, base first. */
  readonly kustomizations: string[];
}

const MODELLED_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'components', 'patches', 'configMapGenerator', 'labels', 'images', 'namespace']);
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  volumes: 'name',
  env: 'name',
  volumeMounts: 'mountPath',
  volumeClaimTemplates: 'name',
};

/** Every document of a YAML file, with parse errors reported. */
export function readManifests(file: string, problems: string[]): K8sObject[] {
  const out: K8sObject[] = [];
  for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) {
    for (const error of document.errors) problems.push(`${file}: ${error.message}`);
    const object = document.toJS() as K8sObject | null;
    if (object !== null) out.push(object);
  }
  return out;
}

export function renderKustomization(dir: string): Rendered {
  const problems: string[] = [];
  const kustomizations: string[] = [];
  const objects = render(dir, problems, kustomizations);
  return { objects, problems, kustomizations };
}

function render(dir: string, problems: string[], seen: string[]): K8sObject[] {
  const file = join(dir, 'kustomization.yaml');
  if (!existsSync(file)) {
    problems.push(`${dir}: no kustomization.yaml`);
    return [];
  }
  seen.push(file);
  const k = parse(readFileSync(file, 'utf8')) ?? {};
  for (const key of Object.keys(k)) if (!MODELLED_FIELDS.has(key)) problems.push(`${file}: field ${key} is not modelled by the test`);
  const objects: K8sObject[] = [];
  for (const resource of (k.resources ?? []) as string[]) {
    const path = join(dir, resource);
    if (!existsSync(path)) problems.push(`${file}: resource ${resource} does not exist`);
    else if (statSync(path).isDirectory()) objects.push(...render(path, problems, seen));
    else objects.push(...readManifests(path, problems));
  }
  for (const generator of (k.configMapGenerator ?? []) as Array<{ name: string; files?: string[]; literals?: string[]; options?: { labels?: Record<string, string> } }>) {
    const data: Record<string, string> = {};
    for (const entry of generator.files ?? []) {
      const [key, source] = entry.includes('=') ? entry.split('=', 2) : [basename(entry), entry];
      const path = join(dir, source!);
      if (!existsSync(path)) problems.push(`${file}: configMapGenerator ${generator.name} file ${source} does not exist${source!.endsWith('.pb') ? ' (run npm run gen)' : ''}`);
      else data[key!] = readFileSync(path, 'latin1');
    }
    for (const literal of generator.literals ?? []) data[literal.split('=')[0]!] = literal.slice(literal.indexOf('=') + 1);
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: generator.name, labels: { ...generator.options?.labels } }, data });
  }
  for (const component of (k.components ?? []) as string[]) {
    const path = join(dir, component);
    if (!existsSync(path)) problems.push(`${file}: component ${component} does not exist`);
    else objects.push(...render(path, problems, seen));
  }
  for (const patch of (k.patches ?? []) as Array<{ path?: string; patch?: string; target?: unknown }>) {
    if (patch.target !== undefined || patch.path === undefined) {
      problems.push(`${file}: only strategic-merge patches given by path are modelled`);
      continue;
    }
    const path = join(dir, patch.path);
    if (!existsSync(path)) {
      problems.push(`${file}: patch ${patch.path} does not exist`);
      continue;
    }
    for (const change of readManifests(path, problems)) {
      const index = objects.findIndex((o) => o.kind === change.kind && o.metadata.name === change.metadata.name);
      if (index < 0) problems.push(`${file}: patch ${patch.path} targets ${change.kind}/${change.metadata.name}, which is not among the resources`);
      else objects[index] = merge(objects[index], change) as K8sObject;
    }
  }
  for (const { pairs } of (k.labels ?? []) as Array<{ pairs: Record<string, string> }>) {
    for (const object of objects) object.metadata.labels = { ...object.metadata.labels, ...pairs };
  }
  for (const image of (k.images ?? []) as Array<{ name: string; newName?: string; newTag?: string }>) {
    for (const container of objects.flatMap(containersOf)) {
      const [name, tag] = String(container.image).split(':');
      if (name === image.name) container.image = `${image.newName ?? name}:${image.newTag ?? tag}`;
    }
  }
  return objects;
}

/** A strategic merge of `patch` into `base` (see the file comment for what is modelled). */
export function merge(base: unknown, patch: unknown, field = ''): unknown {
  if (Array.isArray(patch)) {
    const key = MERGE_KEYS[field] ?? (field === 'ports' ? portKey(patch) : undefined);
    if (!key || !Array.isArray(base)) return structuredClone(patch);
    const out = structuredClone(base) as Array<Record<string, unknown>>;
    for (const item of patch as Array<Record<string, unknown>>) {
      const at = out.findIndex((existing) => existing[key] === item[key]);
      if (item['$patch'] === 'delete') {
        if (at >= 0) out.splice(at, 1);
      } else if (at >= 0) out[at] = merge(out[at], item) as Record<string, unknown>;
      else out.push(structuredClone(item));
    }
    return out;
  }
  if (patch !== null && typeof patch === 'object') {
    const out: Record<string, unknown> = base !== null && typeof base === 'object' && !Array.isArray(base) ? structuredClone(base as Record<string, unknown>) : {};
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete out[k];
      else out[k] = merge(out[k], v, k);
    }
    return out;
  }
  return patch;
}

function portKey(items: unknown[]): string | undefined {
  const first = items[0] as Record<string, unknown> | undefined;
  return first && 'containerPort' in first ? 'containerPort' : first && 'port' in first ? 'port' : undefined;
}

/** The pod template of a workload (Deployment, StatefulSet, Job), if it has one. */
export function podOf(object: K8sObject): { metadata: { labels?: Record<string, string> }; spec: any } | undefined {
  return object.spec?.template?.spec ? object.spec.template : undefined;
}

export function containersOf(object: K8sObject): any[] {
  const pod = podOf(object)?.spec;
  return pod ? [...(pod.initContainers ?? []), ...(pod.containers ?? [])] : [];
}

/** Whether a label selector (matchLabels only) selects these labels. */
export function selects(selector: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] } | Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  const match = (selector && 'matchLabels' in selector ? selector.matchLabels : selector) as Record<string, string> | undefined;
  if (!match || Object.keys(match).length === 0) return true;
  return Object.entries(match).every(([k, v]) => labels?.[k] === v);
}
