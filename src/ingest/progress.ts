/**
 * What an operator watching an ingest job sees on stderr: a progress bar
 * (done/total, rate, ETA, failures so far) when stderr is a terminal, and a
 * plain line every few seconds otherwise, so a Kubernetes log or a CI log
 * gets readable lines instead of carriage-return noise.
 */
import cliProgress from 'cli-progress';

import type { OutcomeCounts } from './checkpoint.js';

export interface ProgressView {
  /** `total` is the shard's record count when the source can tell; `already` the records a resume skipped. */
  start(total: number | undefined, already: number): void;
  update(counts: OutcomeCounts): void;
  stop(counts: OutcomeCounts): void;
}

export interface ProgressOptions {
  readonly stream: NodeJS.WriteStream | { write(text: string): unknown; isTTY?: boolean };
  /** Seconds between plain lines. */
  readonly intervalSeconds?: number;
  readonly now?: () => number;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** One plain progress line, e.g. `[ingest] 1200/5000 (24%) 21.3 photos/s, ETA 2m58s, 4 failed`. */
export function progressLine(counts: OutcomeCounts, total: number | undefined, rate: number): string {
  const done = counts.records;
  const of = total === undefined ? `${done}` : `${done}/${total} (${Math.floor((100 * done) / Math.max(total, 1))}%)`;
  const eta = total === undefined || rate <= 0 ? '' : `, ETA ${duration((total - done) / rate)}`;
  return `[ingest] ${of} ${rate.toFixed(1)} photos/s${eta}, ${counts.enrolled} enrolled, ${counts.duplicates} already there, ${counts.failed} failed`;
}

export function createProgressView(options: ProgressOptions): ProgressView {
  const now = options.now ?? (() => performance.now());
  const interval = (options.intervalSeconds ?? 10) * 1000;
  let started = now();
  let already = 0;
  let total: number | undefined;
  let lastLine = 0;
  let bar: cliProgress.SingleBar | undefined;
  // Photos per second over this run only: records a resume skipped were not processed now.
  const rate = (counts: OutcomeCounts) => (counts.records - already) / Math.max((now() - started) / 1000, 1e-3);

  return {
    start(knownTotal, skipped) {
      started = now();
      lastLine = started;
      already = skipped;
      total = knownTotal;
      if (options.stream.isTTY && total !== undefined) {
        bar = new cliProgress.SingleBar(
          {
            stream: options.stream as NodeJS.WriteStream,
            format: '[ingest] {bar} {value}/{total} | {rate} photos/s | ETA {eta_formatted} | {failed} failed',
            hideCursor: true,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, skipped, { rate: '0.0', failed: 0 });
      } else if (skipped > 0) {
        options.stream.write(`[ingest] resuming after ${skipped} records\n`);
      }
    },
    update(counts) {
      if (bar) {
        bar.update(counts.records, { rate: rate(counts).toFixed(1), failed: counts.failed });
        return;
      }
      if (now() - lastLine < interval) return;
      lastLine = now();
      options.stream.write(`${progressLine(counts, total, rate(counts))}\n`);
    },
    stop(counts) {
      if (bar) {
        bar.update(counts.records, { rate: rate(counts).toFixed(1), failed: counts.failed });
        bar.stop();
      }
      options.stream.write(`${progressLine(counts, total, rate(counts))}\n`);
    },
  };
}
