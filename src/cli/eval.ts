/**
 * `npm run eval -- <folder> [--calibrate] [--photos dir] [--target-far 1e-4] [--json] [settings flags]`
 * (`--help` lists them)
 *
 * Prints verification accuracy at the best and at the configured threshold
 * (FAR, FRR), leave-one-out rank-1 identification, faces found per group
 * photo against the manifest and the identity given to each. With
 * --calibrate (`npm run calibrate -- <folder>`) it also pools the negative
 * and positive pairs described in docs/threshold.md and prints the
 * similarity threshold for the target false-accept rate.
 *
 * Enrolled and probe photos are embedded as the configured server would
 * (FACEREC_ENROLMENT__FLIP_AVERAGE, FACEREC_PIPELINE__FLIP_AVERAGE_PROBES).
 */
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { FacePipeline } from '../pipeline/index.js';
import { calibrate, type CalibrationReport } from './calibration.js';
import { evaluate, type EvaluationReport } from './evaluation.js';
import { commandHelp, parseCommandArgs, splitCommandLine, usageOf, UsageError, type CommandDescription, type FlagOptions } from './command.js';
import { openPipeline } from './open-pipeline.js';

export interface EvalArgs {
  readonly folder: string;
  readonly calibrate: boolean;
  readonly photosDir: string;
  readonly targetFar: number;
  readonly json: boolean;
  readonly configArgv: string[];
}

export const evalOptions = {
  calibrate: { type: 'boolean', description: 'also calibrate the similarity threshold (docs/threshold.md)' },
  photos: { type: 'string', valueName: 'dir', default: 'test/photos', description: 'more photos for the calibration: their faces against the eval subjects, and against their own re-encoded copies' },
  'target-far': { type: 'string', valueName: 'rate', default: '1e-4', description: 'false-accept rate the calibrated threshold aims at' },
  json: { type: 'boolean', description: 'print the report as JSON' },
} as const satisfies FlagOptions;

const EVAL: CommandDescription = { usage: 'npm run eval -- <folder>', summary: 'accuracy of the pipeline on <folder> (README, "Accuracy and thresholds")', ownOptions: evalOptions };

/** The eval command line; undefined when it asked for --help (printed here). */
export function parseEvalArgs(argv: readonly string[], print: (text: string) => void = (text) => process.stdout.write(`${text}\n`)): EvalArgs | undefined {
  const { commandArgs, settingsArgs, help } = splitCommandLine(argv, evalOptions);
  if (help) {
    print(commandHelp(EVAL));
    return undefined;
  }
  const { values, positionals } = parseCommandArgs(commandArgs, evalOptions);
  const [folder, ...extra] = positionals;
  if (!folder || extra.length > 0) throw new UsageError('give one <folder>');
  const targetFar = Number(values['target-far']);
  if (!(targetFar > 0 && targetFar < 1)) throw new UsageError('--target-far must be between 0 and 1');
  return { folder, calibrate: values.calibrate ?? false, photosDir: values.photos, targetFar, json: values.json ?? false, configArgv: settingsArgs };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

export function formatEvaluation(r: EvaluationReport, threshold: number): string {
  const lines: string[] = [];
  const kind = (flipped: boolean) => (flipped ? 'flip-averaged' : 'plain');
  lines.push(`embeddings: enrolled ${kind(r.embeddings.flipAverageEnrolment)}, probes ${kind(r.embeddings.flipAverageProbes)}`);
  const found = r.identities.filter((i) => i.embedding).length;
  lines.push(`identities: ${found}/${r.identities.length} crops with a face${r.undetected.length ? ` (no face: ${r.undetected.join(', ')})` : ''}`);
  lines.push(`pairs: ${r.positives.length} same-person, ${r.negatives.length} different-person`);
  lines.push(`same-person similarity ≥ ${Math.min(...r.positives).toFixed(3)}, different-person ≤ ${Math.max(...r.negatives).toFixed(3)}`);
  lines.push(`verification at best threshold ${r.best.threshold.toFixed(3)}: accuracy ${pct(r.best.accuracy)} (FAR ${pct(r.best.far)}, FRR ${pct(r.best.frr)})`);
  lines.push(`verification at default threshold ${threshold}: accuracy ${pct(r.atDefault.accuracy)} (FAR ${pct(r.atDefault.far)} = ${r.atDefault.falseAccepts}/${r.negatives.length}, FRR ${pct(r.atDefault.frr)} = ${r.atDefault.falseRejects}/${r.positives.length})`);
  lines.push(`rank-1 identification (leave-one-out): ${r.rankOne.correct}/${r.rankOne.total}${r.rankOne.misses.length ? ` (missed: ${r.rankOne.misses.join(', ')})` : ''}`);
  const c = r.enrolmentCoverage;
  lines.push(`enrolment with the default face policy: ${c.enrolled}/${c.total} photos${c.refused.length ? ` (refused: ${c.refused.join(', ')})` : ''}`);
  lines.push('open set (every other subject enrolled, then the others; the rest of the photos are probes):');
  for (const { photosPerSubject, templates, report: o } of r.openSet) {
    const fpir = o.atFpir.map((a) => `DIR at FPIR ${pct(a.fpir)} ${pct(a.dir)}`).join(', ');
    lines.push(
      `  ${photosPerSubject} photo${photosPerSubject > 1 ? 's' : ''}/subject, ${templates ? 'template' : 'best face'}: ${o.matedProbes} mated + ${o.nonMatedProbes} non-mated probes; rank-1 ${pct(o.rankOne)}, ${fpir}; at ${o.atThreshold.threshold}: DIR ${pct(o.atThreshold.dir)}, FPIR ${pct(o.atThreshold.fpir)}`,
    );
  }
  lines.push('group photos (one crop enrolled per subject):');
  for (const g of r.groups) {
    const expected = g.expectedFaces === undefined ? 'not given' : String(g.expectedFaces);
    const names = g.faces
      .map((f, i) => ({ f, a: g.assigned[i] }))
      .sort((p, q) => p.f.box.x1 - q.f.box.x1)
      .map(({ f, a }) => (f.embedding ? (a ? `${a.subject} (${a.similarity.toFixed(2)})` : 'unknown') : 'too small'));
    lines.push(`  ${g.file}: ${g.faces.length} faces (manifest: ${expected}); left to right: ${names.join(', ')}`);
  }
  return lines.join('\n');
}

export function formatCalibration(c: CalibrationReport, config: Config): string {
  const lines = [`calibration (target FAR ${c.targetFar}):`];
  for (const [name, s] of Object.entries(c.sources)) {
    if (s.count) lines.push(`  ${name}: ${s.count} pairs, mean ${s.mean.toFixed(3)}, sd ${s.sd.toFixed(3)}, min ${s.min.toFixed(3)}, max ${s.max.toFixed(3)}`);
  }
  lines.push(`  negatives pooled: ${c.negatives.count}, mean ${c.negatives.mean.toFixed(3)}, sd ${c.negatives.sd.toFixed(3)}, max ${c.negatives.max.toFixed(3)}`);
  lines.push(`  positives pooled: ${c.positives.count}, min ${c.positives.min.toFixed(3)}`);
  lines.push(`  normal-tail threshold for FAR ${c.targetFar}: ${c.gaussianThreshold.toFixed(3)} (highest negative ${c.maxNegative.toFixed(3)})`);
  lines.push(`  recommended pipeline.similarityThreshold: ${c.threshold} (configured: ${config.pipeline.similarityThreshold})`);
  lines.push(`  at ${c.threshold}: measured FAR ${c.atThreshold.falseAccepts}/${c.negatives.count}, FRR ${pct(c.atThreshold.frr)} (${c.atThreshold.falseRejects}/${c.positives.count})`);
  lines.push(`  detector scores of the faces found (lowest 5): ${c.detectScores.slice(0, 5).map((s) => s.toFixed(3)).join(', ')}`);
  return lines.join('\n');
}

export async function runEval(args: EvalArgs, pipeline: FacePipeline, config: Config): Promise<void> {
  const threshold = config.pipeline.similarityThreshold;
  const report = await evaluate(args.folder, pipeline, threshold, {
    flipAverageEnrolment: config.enrolment.flipAverage,
    flipAverageProbes: config.pipeline.flipAverageProbes,
  });
  const calibration = args.calibrate ? await calibrate(report, args.photosDir, pipeline, args.targetFar) : undefined;
  if (args.json) {
    const { identities, groups, ...rest } = report;
    process.stdout.write(`${JSON.stringify({ ...rest, groups: groups.map((g) => ({ file: g.file, expectedFaces: g.expectedFaces, found: g.faces.length, assigned: g.assigned })), calibration }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${formatEvaluation(report, threshold)}\n`);
  if (calibration) process.stdout.write(`${formatCalibration(calibration, config)}\n`);
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseEvalArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`eval: ${error.message}\nusage: ${usageOf(EVAL)}\n`);
    process.exit(2);
  }
  if (!args) return;
  const config = loadConfig({ env: process.env, argv: args.configArgv });
  const opened = await openPipeline(config);
  try {
    await runEval(args, opened.pipeline, config);
  } finally {
    await opened.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    process.stderr.write(`eval: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
