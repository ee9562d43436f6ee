/** The README's configuration table, generated from the schema (`npm run docs:config`). */
import { listSettings } from './load.js';

function formatDefault(value: unknown): string {
  if (value === undefined) return '(unset)';
  if (Array.isArray(value)) return `\`${value.join(',')}\``;
  return `\`${String(value)}\``;
}

export function configTable(): string {
  const rows = listSettings().map(({ spec }) => `| \`${spec.env}\` | ${spec.flag ? `\`${spec.flag}\`` : ''} | ${formatDefault(spec.default)} | ${spec.description} |`);
  return ['| Environment | Flag | Default | Meaning |', '|---|---|---|---|', ...rows].join('\n');
}

if (process.argv[1]?.endsWith('table.ts')) process.stdout.write(configTable() + '\n');
