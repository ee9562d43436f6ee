/** The JSON report of bench/peers/run.ts and its printed table. */
import { cpus, release, type } from 'node:os';
import type { LibraryName } from './face-library.js';
import type { IdentityEval } from './identity-eval.js';

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly os: string;
}

export interface LibraryReport {
  readonly library: LibraryName;
  readonly version: string;
  readonly backend: 'wasm';
  readonly tfjsVersion: string;
  readonly workers: number;
  readonly images: number;
  readonly faces: number;
  /** Wall time of the whole set after each worker's warm-up image. */
  readonly seconds: number;
  readonly imagesPerS: number;
  readonly facesPerS: number;
  readonly eval?: IdentityEval;
}

export interface PeersReport {
  readonly machine: MachineInfo;
  readonly libraries: readonly LibraryReport[];
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return { cpus: list.length, cpuModel: list[0]?.model.trim() ?? 'unknown', node: process.version, os: `${type()} ${release()} ${process.arch}` };
}

function pad(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
}

export function formatReport(report: PeersReport): string {
  const m = report.machine;
  const lines = [`${m.cpuModel}, ${m.cpus} cpus, Node ${m.node}, ${m.os}`, ''];
  const head = ['library', 'version', 'workers', 'images', 'faces', 'seconds', 'images/s', 'faces/s'];
  const rows = report.libraries.map((l) => [l.library, l.version, String(l.workers), String(l.images), String(l.faces), l.seconds.toFixed(2), l.imagesPerS.toFixed(2), l.facesPerS.toFixed(2)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  lines.push(pad(head, widths), ...rows.map((r) => pad(r, widths)));
  for (const l of report.libraries) {
    const e = l.eval;
    if (!e) continue;
    const rule = e.metric === 'cosine-similarity' ? `cosine ≥ ${e.threshold.toFixed(3)}` : `euclidean distance ≤ ${e.threshold.toFixed(3)}`;
    lines.push(
      '',
      `${l.library} on the identity crops: verification ${(100 * e.verificationAccuracy).toFixed(2)}% at ${rule}, rank-1 ${e.rankOne.correct}/${e.rankOne.total}, no face in ${e.undetected}${e.undetected ? ` (${e.undetectedCrops.join(', ')})` : ''}`,
    );
  }
  return lines.join('\n');
}
