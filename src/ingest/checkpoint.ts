/**
 * The small file that lets an ingest job stop (a crash, Ctrl-C, a rescheduled
 * pod) and continue where it left off. After every finished chunk it records
 * how many of the shard's records are done and the counts so far; the
 * failures go to an append-only `<checkpoint>.failures.jsonl` beside it, so
 * the checkpoint stays a few hundred bytes however many photos failed.
 *
 * Order of writes: failures are appended first, then the checkpoint is
 * replaced atomically (write + rename). A crash in between leaves extra
 * failure lines that the checkpoint does not count; reopening drops them, so
 * the chunk that was in flight is simply sent again (enrolment is idempotent).
 */
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

import { FacerecError } from '../errors.js';

export interface OutcomeCounts {
  /** Records of this shard taken from the source, sent or not. */
  records: number;
  enrolled: number;
  duplicates: number;
  failed: number;
}

export interface IngestFailure {
  readonly ref: string;
  readonly subjectId: string;
  /** A gRPC status name from the server (e.g. NO_FACE's INVALID_ARGUMENT), or UNREADABLE / INVALID_RECORD from the client. */
  readonly code: string;
  readonly message: string;
}

export interface CheckpointState {
  readonly version: 1;
  /** Which job wrote it (source identity and shard): a checkpoint is never applied to another job. */
  readonly job: string;
  readonly counts: OutcomeCounts;
  /** Failures the server left out of its summaries (beyond its per-call list). */
  readonly failuresOmitted: number;
  readonly failuresLogged: number;
  /** The last record done: a resume checks the source still has it at that position. */
  readonly lastRef?: string | undefined;
  readonly complete: boolean;
  readonly updatedAt: string;
}

export const EMPTY_COUNTS: OutcomeCounts = { records: 0, enrolled: 0, duplicates: 0, failed: 0 };

export class Checkpoint {
  private constructor(
    readonly path: string,
    private state: CheckpointState,
  ) {}

  get failuresPath(): string {
    return `${this.path}.failures.jsonl`;
  }

  get current(): CheckpointState {
    return this.state;
  }

  /**
   * Opens the checkpoint for `job`. With `resume`, an existing checkpoint of
   * the same job is continued (with its failures so far); without, the job
   * starts from the first record and the old files are replaced.
   */
  static async open(path: string, job: string, resume: boolean): Promise<{ checkpoint: Checkpoint; failures: IngestFailure[]; resumed: boolean }> {
    const fresh: CheckpointState = { version: 1, job, counts: { ...EMPTY_COUNTS }, failuresOmitted: 0, failuresLogged: 0, complete: false, updatedAt: new Date().toISOString() };
    let saved: CheckpointState | undefined;
    if (resume) saved = await readState(path);
    if (saved && saved.job !== job) {
      throw new FacerecError('INVALID_ARGUMENT', `checkpoint ${path} belongs to another job (${saved.job}); remove it, or name another file with --checkpoint`);
    }
    // A state folder named for the job (a fresh volume, a new shard) is created rather than refused.
    await mkdir(dirname(path), { recursive: true });
    const checkpoint = new Checkpoint(path, saved ?? fresh);
    const failures = saved ? await checkpoint.readFailures(saved.failuresLogged) : [];
    await writeFile(checkpoint.failuresPath, failures.map((f) => `${JSON.stringify(f)}\n`).join(''));
    if (!saved) await checkpoint.save(fresh);
    return { checkpoint, failures, resumed: saved !== undefined };
  }

  /** Records a finished chunk: its failures, then the new totals. */
  async commit(state: Omit<CheckpointState, 'version' | 'job' | 'updatedAt' | 'failuresLogged'>, newFailures: readonly IngestFailure[]): Promise<void> {
    if (newFailures.length > 0) await appendFile(this.failuresPath, newFailures.map((f) => `${JSON.stringify(f)}\n`).join(''));
    await this.save({ ...state, version: 1, job: this.state.job, failuresLogged: this.state.failuresLogged + newFailures.length, updatedAt: new Date().toISOString() });
  }

  private async save(state: CheckpointState): Promise<void> {
    const temporary = `${this.path}.tmp`;
    await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`);
    await rename(temporary, this.path);
    this.state = state;
  }

  private async readFailures(count: number): Promise<IngestFailure[]> {
    let text = '';
    try {
      text = await readFile(this.failuresPath, 'utf8');
    } catch {
      // A lost failures log loses the reasons of earlier failures, not the job: the counts are in the checkpoint.
    }
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .slice(0, count)
      .map((line) => JSON.parse(line) as IngestFailure);
  }
}

async function readState(path: string): Promise<CheckpointState | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FacerecError('INVALID_ARGUMENT', `cannot read checkpoint ${path}: ${(error as Error).message}`);
  }
  try {
    const state = JSON.parse(text) as CheckpointState;
    if (state.version !== 1 || typeof state.counts?.records !== 'number') throw new Error('unknown layout');
    return state;
  } catch (error) {
    throw new FacerecError('INVALID_ARGUMENT', `checkpoint ${path} is not a facerec ingest checkpoint (${(error as Error).message}); remove it to start over`);
  }
}
