/**
 * The README is the user's manual: every setting, error code, CLI command and
 * npm script it should mention is checked against the code that defines them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { COMMANDS } from '../src/cli/main.js';
import { configTable } from '../src/config/table.js';
import { ERROR_CATALOGUE } from '../src/errors.js';

const root = join(import.meta.dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

describe('README', () => {
  it('holds the configuration table exactly as npm run docs:config prints it', () => {
    for (const row of configTable().trim().split('\n')) assert.ok(readme.includes(row), `README lacks config row: ${row}`);
  });

  it('lists every error code with its gRPC status', () => {
    for (const [code, { status }] of Object.entries(ERROR_CATALOGUE)) {
      assert.match(readme, new RegExp(`\\| \`${code}\` \\| ${status} \\|`), `README lacks error row for ${code}`);
    }
  });

  it('documents every CLI command and npm script', () => {
    for (const name of Object.keys(COMMANDS)) assert.match(readme, new RegExp(`facerec ${name}\\b`), `README lacks facerec ${name}`);
    const scripts = Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts as Record<string, string>);
    const internal = new Set(['prepare', 'gen', 'bench:runner']);
    for (const script of scripts.filter((s) => !internal.has(s))) {
      const short = script.replace(/^bench:/, '');
      assert.ok(readme.includes(`npm run ${script}`) || readme.includes(`npm ${script}`) || readme.includes(`\`${short}\``), `README lacks npm script ${script}`);
    }
  });

  it('gives the two-command quick start', () => {
    assert.match(readme, /npm ci\s.*\n+npm start/);
    assert.match(readme, /npm test/);
  });
});
