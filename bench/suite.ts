/**
 * `npm run bench`: the benchmarks one after another, each in a process of
 * its own, and their figures in one file, BENCHMARKS.md (and with --json,
 * every figure as JSON).
 *
 *   npm run bench                                 # full pass, about 12 minutes on 2 cores
 *   npm run bench -- --quick --out /tmp/b.md      # a short pass that only shows each part works
 *   npm run bench -- --only ceiling,store --json figures.json
 *   npm run bench -- --help
 *
 * Sections (bench/suite/sections/): against the ceiling, batching on vs off,
 * against peers, latency, memory, store, streams. A section that cannot run
 * here (the peer libraries not installed) is marked skipped with what to
 * do; one that fails is marked failed with the end of its error output,
 * and the suite carries on and exits with status 1 at the end. Progress
 * goes to stderr. The machine should be otherwise idle: the benchmarks
 * measure throughput, and anything else running takes from it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../src/cli/command.js';
import { packageRoot } from '../src/package-root.js';
import { stopChildren } from './suite/child.js';
import { commandLine, machineInfo, round } from './suite/machine.js';
import { duration, renderMarkdown, type SectionReport, type SuiteReport } from './suite/markdown.js';
import { parseSuiteOptions, SECTION_NAMES, suiteHelp, SUITE_USAGE, type SectionName, type SuiteOptions } from './suite/options.js';
import { createContext, type Section } from './suite/section.js';
import { batchingSection } from './suite/sections/batching.js';
import { ceilingSection } from './suite/sections/ceiling.js';
import { latencySection } from './suite/sections/latency.js';
import { memorySection } from './suite/sections/memory.js';
import { peersSection } from './suite/sections/peers.js';
import { storeSection } from './suite/sections/store.js';
import { streamsSection } from './suite/sections/streams.js';

const SECTIONS: Readonly<Record<SectionName, Section>> = {
  ceiling: ceilingSection, batching: batchingSection, peers: peersSection, latency: latencySection,
  memory: memorySection, store: storeSection, streams: streamsSection,
};
/** Store runs before memory, which opens the gallery the store section kept instead of building another. */
const RUN_ORDER: readonly SectionName[] = ['ceiling', 'batching', 'peers', 'latency', 'store', 'memory', 'streams'];

const root = packageRoot();
/** The parsed flags; prints help or a usage error and exits instead where that is what was asked. */
function readOptions(): SuiteOptions {
  try {
    const parsed = parseSuiteOptions(process.argv.slice(2), root);
    if (parsed) return parsed;
    console.log(suiteHelp());
    process.exit(0);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`bench: ${error.message}\nusage: ${SUITE_USAGE}`);
    process.exit(2);
  }
}
const options = readOptions();

const started = performance.now();
const elapsedS = () => (performance.now() - started) / 1000;
const clock = () => {
  const s = Math.floor(elapsedS());
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};
const progress = (line: string) => process.stderr.write(`[bench ${clock()}] ${line}\n`);

const tmpDir = mkdtempSync(join(tmpdir(), 'facerec-bench-suite-'));
const removeTmp = () => rmSync(tmpDir, { recursive: true, force: true });
let stopping = false;
const onSignal = () => {
  // Stop the running benchmark (its servers too), start nothing more, write no report.
  stopping = true;
  progress('stopping…');
  void stopChildren().finally(() => {
    removeTmp();
    process.exit(130);
  });
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

const ctx = createContext({ root, quick: options.quick, tmpDir, evalDir: options.evalDir, progress });
const machine = machineInfo(root);
// Throughput is what most sections measure, and other work on the machine takes from it.
if (machine.loadAvgStart[0]! > machine.usableCpus / 2) progress(`the machine is busy (load average ${machine.loadAvgStart[0]} on ${machine.usableCpus} CPUs): expect lower throughput and higher latency than on an idle one`);
const toRun = RUN_ORDER.filter((name) => options.sections.includes(name));
const reports = new Map<SectionName, SectionReport>();
try {
  for (const [i, name] of toRun.entries()) {
    if (stopping) break;
    const section = SECTIONS[name];
    progress(`== ${section.title} (${i + 1}/${toRun.length})`);
    const sectionStart = performance.now();
    const base = { name, title: section.title, summary: section.summary };
    try {
      const result = await section.run(ctx);
      const seconds = (performance.now() - sectionStart) / 1000;
      reports.set(name, { ...base, ...result, status: result.skipped ? 'skipped' : 'ok', seconds });
      progress(`${section.title}: ${result.skipped ? 'skipped' : 'done'} in ${duration(seconds)}`);
    } catch (error) {
      const seconds = (performance.now() - sectionStart) / 1000;
      const message = error instanceof Error ? error.message : String(error);
      reports.set(name, { ...base, status: 'failed', seconds, commands: [], tables: [], error: message });
      progress(`${section.title}: FAILED after ${duration(seconds)}: ${message.split('\n')[0]}`);
    }
  }
} finally {
  removeTmp();
}

// After a signal the handler exits once the children are gone; no report is written.
if (!stopping) writeReport();

function writeReport(): void {
  const report: SuiteReport = {
    machine,
    command: commandLine(options.argv),
    quick: options.quick,
    totalSeconds: round(elapsedS(), 1),
    loadAvgEnd: loadavg().map((v) => round(v)),
    sections: SECTION_NAMES.flatMap((name) => reports.get(name) ?? []),
  };
  writeFileSync(options.outPath, renderMarkdown(report));
  if (options.jsonPath) writeFileSync(options.jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  progress(`wrote ${options.outPath}${options.jsonPath ? ` and ${options.jsonPath}` : ''} in ${duration(report.totalSeconds)}`);
  if (report.sections.some((s) => s.status === 'failed')) process.exitCode = 1;
}
