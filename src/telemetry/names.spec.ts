import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ATTR, METRIC, SPAN } from './names.js';

describe('names', () => {
  const doc = readFileSync('docs/observability.md', 'utf8');
  it('docs/observability.md lists every span, attribute and metric name', () => {
    for (const name of [...Object.values(SPAN), ...Object.values(ATTR), ...Object.values(METRIC)]) {
      assert.ok(doc.includes(`\`${name}\``), `${name} is documented`);
    }
  });
  it('metric names are Prometheus-valid and carry their unit', () => {
    for (const name of Object.values(METRIC)) {
      assert.match(name, /^facerec_[a-z_]+$/);
      if (name.includes('duration') || name.includes('wait')) assert.match(name, /_seconds$/);
    }
  });
});
