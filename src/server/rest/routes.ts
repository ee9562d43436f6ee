/**
 * Path templates of google.api.http rules ("/v1/subjects/{subject_id}/faces")
 * compiled into matchers, as Envoy's transcoder (grpc-httpjson-transcoding)
 * does: literal segments, `{field}` for one segment, `{field=**}` for the rest,
 * `*` and `**` wildcards, and an optional `:verb` suffix.
 */
import type { HttpRule, HttpVerb } from './descriptor.js';

type Segment = { kind: 'literal'; text: string } | { kind: 'one'; field?: string } | { kind: 'rest'; field?: string };

export interface Route {
  readonly rule: HttpRule;
  readonly segments: readonly Segment[];
  readonly verbSuffix: string;
}

export type RouteMatch =
  | { kind: 'found'; rule: HttpRule; bindings: Record<string, string> }
  | { kind: 'method-not-allowed'; allowed: HttpVerb[] }
  | { kind: 'not-found' };

export function compileRoutes(rules: readonly HttpRule[]): Route[] {
  return rules.map((rule) => compileRoute(rule));
}

function compileRoute(rule: HttpRule): Route {
  let template = rule.pathTemplate;
  let verbSuffix = '';
  const colon = template.lastIndexOf(':');
  if (colon > template.lastIndexOf('}') && colon > template.lastIndexOf('/')) {
    verbSuffix = template.slice(colon + 1);
    template = template.slice(0, colon);
  }
  if (!template.startsWith('/')) throw new Error(`path template must start with '/': ${rule.pathTemplate}`);
  const segments: Segment[] = [];
  // Split on '/' outside braces: "{name=a/*}" is one variable.
  for (const part of splitOutsideBraces(template.slice(1))) {
    if (part === '') continue;
    if (part.startsWith('{') && part.endsWith('}')) {
      const [field, pattern = '*'] = part.slice(1, -1).split('=');
      segments.push(pattern.includes('**') ? { kind: 'rest', field: field! } : { kind: 'one', field: field! });
    } else if (part === '*') segments.push({ kind: 'one' });
    else if (part === '**') segments.push({ kind: 'rest' });
    else segments.push({ kind: 'literal', text: part });
  }
  return { rule, segments, verbSuffix };
}

function splitOutsideBraces(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '{') depth++;
    if (ch === '}') depth--;
    if (ch === '/' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

/** Matches a request path (without query) against every route. */
export function matchRoute(routes: readonly Route[], verb: string, path: string): RouteMatch {
  const allowed = new Set<HttpVerb>();
  let pathPart = path;
  let verbSuffix = '';
  const lastSlash = path.lastIndexOf('/');
  const colon = path.indexOf(':', lastSlash);
  if (colon >= 0) {
    verbSuffix = path.slice(colon + 1);
    pathPart = path.slice(0, colon);
  }
  const segments = pathPart.split('/').slice(1).filter((s, i, all) => s !== '' || i < all.length - 1);
  for (const route of routes) {
    if (route.verbSuffix !== verbSuffix) continue;
    const bindings = bind(route.segments, segments);
    if (!bindings) continue;
    if (route.rule.verb === verb) return { kind: 'found', rule: route.rule, bindings };
    allowed.add(route.rule.verb);
  }
  return allowed.size > 0 ? { kind: 'method-not-allowed', allowed: [...allowed] } : { kind: 'not-found' };
}

function bind(template: readonly Segment[], segments: readonly string[]): Record<string, string> | undefined {
  const bindings: Record<string, string> = {};
  let i = 0;
  for (const seg of template) {
    if (seg.kind === 'rest') {
      const rest = segments.slice(i);
      if (seg.field) bindings[seg.field] = rest.map(decode).join('/');
      i = segments.length;
      continue;
    }
    const value = segments[i];
    if (value === undefined || value === '') return undefined;
    if (seg.kind === 'literal' && value !== seg.text) return undefined;
    if (seg.kind === 'one' && seg.field) bindings[seg.field] = decode(value);
    i++;
  }
  return i === segments.length ? bindings : undefined;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
