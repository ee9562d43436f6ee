/**
 * BENCHMARKS.md: the header (when, where, on what, how) and one section per
 * benchmark with what it measures, the command that reproduces it, its
 * tables and notes.
 */
import type { MachineInfo } from './machine.js';
import type { SectionResult, Table } from './section.js';

export interface SectionReport extends Omit<SectionResult, 'commands' | 'tables'> {
  readonly name: string;
  readonly title: string;
  readonly summary: string;
  readonly status: 'ok' | 'skipped' | 'failed';
  readonly seconds: number;
  readonly commands: readonly string[];
  readonly tables: readonly Table[];
  readonly error?: string;
}

export interface SuiteReport {
  readonly machine: MachineInfo;
  readonly command: string;
  readonly quick: boolean;
  readonly totalSeconds: number;
  readonly loadAvgEnd: readonly number[];
  readonly sections: readonly SectionReport[];
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

export function markdownTable(table: Table): string {
  const lines = [`| ${table.headers.map(cell).join(' | ')} |`, `|${table.headers.map(() => '---').join('|')}|`, ...table.rows.map((row) => `| ${row.map(cell).join(' | ')} |`)];
  return (table.caption ? [`*${table.caption}*`, '', ...lines] : lines).join('\n');
}

export function duration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return m > 0 ? `${m} min ${s} s` : `${s} s`;
}

function header(report: SuiteReport): string[] {
  const m = report.machine;
  const p = m.packages;
  const cores = m.usableCpus === m.cpus ? `${m.cpus} cores` : `${m.cpus} cores (${m.usableCpus} usable by this process)`;
  return [
    report.quick ? '# facerec benchmarks (quick pass)' : '# facerec benchmarks',
    '',
    'Written by `npm run bench` (bench/suite.ts); every section names the command that reproduces it alone.',
    ...(report.quick ? ['', '**Quick pass**: short runs and small sizes that show each benchmark works; do not quote these figures.'] : []),
    '',
    `- **Date**: ${m.date}`,
    `- **Machine**: ${m.cpuModel}, ${cores}, ${m.memoryGiB} GiB memory; ${m.os}`,
    `- **Node**: ${m.node}; onnxruntime-node ${p['onnxruntime-node']}, sharp ${p.sharp}, @grpc/grpc-js ${p['@grpc/grpc-js']}`,
    `- **Git commit**: ${m.commit}`,
    `- **Command**: \`${report.command}\``,
    `- **Duration**: ${duration(report.totalSeconds)}; load average (1, 5, 15 min) ${m.loadAvgStart.join(' ')} at the start, ${report.loadAvgEnd.join(' ')} at the end`,
  ];
}

function section(s: SectionReport, index: number): string[] {
  const lines = ['', `## ${index}. ${s.title}`, '', s.summary];
  if (s.commands.length === 1) lines.push('', `Alone: \`${s.commands[0]}\``);
  if (s.commands.length > 1) lines.push('', 'Alone:', '', '```sh', ...s.commands, '```');
  if (s.status === 'skipped') return [...lines, '', `**Skipped**: ${s.skipped}`];
  if (s.status === 'failed') return [...lines, '', `**Failed** after ${duration(s.seconds)}:`, '', '```', s.error ?? 'unknown error', '```'];
  for (const table of s.tables) lines.push('', markdownTable(table));
  if (s.notes?.length) lines.push('', ...s.notes.flatMap((n, i) => (i === 0 ? [n] : ['', n])));
  lines.push('', `_Section time: ${duration(s.seconds)}._`);
  return lines;
}

export function renderMarkdown(report: SuiteReport): string {
  return [...header(report), ...report.sections.flatMap((s, i) => section(s, i + 1))].join('\n') + '\n';
}
