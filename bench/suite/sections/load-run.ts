/**
 * One bench:load run with its own server, from the suite: the flags, the
 * command that reproduces it, and its JSON report read back.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadReport } from '../../load/report.js';
import type { SuiteContext } from '../section.js';

export interface LoadRun {
  /** The flags of the run that reproduce it (--json and --quiet aside). */
  readonly flags: readonly string[];
  /** What the progress lines call it, and the file name of its report. */
  readonly label: string;
  /** Added to the environment of bench:load, and so of the server it starts. */
  readonly env?: Record<string, string>;
}

/** `npm run bench:load -- <flags>`, with temporary folders shown as placeholders. */
export function loadCommand(run: LoadRun, placeholders: Readonly<Record<string, string>> = {}): string {
  const flags = run.flags.map((f) => placeholders[f] ?? f);
  const env = Object.entries(run.env ?? {}).map(([k, v]) => `${k}=${v} `).join('');
  return `${env}npm run bench:load -- ${flags.join(' ')}`;
}

export async function runLoad(ctx: SuiteContext, run: LoadRun): Promise<LoadReport> {
  const jsonPath = join(ctx.tmpDir, `${run.label.replace(/\W+/g, '-')}.json`);
  await ctx.tsx(`bench:load ${run.label}`, 'bench/load.ts', [...run.flags, '--quiet', '--json', jsonPath], run.env ? { env: run.env } : {});
  return JSON.parse(readFileSync(jsonPath, 'utf8')) as LoadReport;
}

/** The report less its per-second series, which the suite's JSON does not need. */
export function withoutSeries(report: LoadReport): Omit<LoadReport, 'timeSeries'> {
  const { timeSeries: _series, ...rest } = report;
  return rest;
}
