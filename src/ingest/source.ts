/**
 * What `facerec ingest` reads: one interface over every kind of source (a
 * folder per subject, a CSV or JSON-lines manifest, a Parquet dataset, a
 * PostgreSQL query), so the job that chunks, shards, checkpoints and reports
 * is written once and every reader passes the same contract tests.
 */

/** A JSON value as it travels in a subject's payload (a protobuf Struct on the wire). */
export type PayloadValue = string | number | boolean | null | PayloadValue[] | { [key: string]: PayloadValue };
export type Payload = { [key: string]: PayloadValue };

/**
 * A value read from a source as JSON for a payload: int64 as a number when
 * exact (else its digits as text), dates as ISO text, non-finite numbers as
 * null; raw bytes have no JSON form and are left out (undefined).
 */
export function payloadValue(value: unknown): PayloadValue | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return undefined;
  if (Array.isArray(value)) return value.map((v) => payloadValue(v) ?? null);
  if (typeof value === 'object') return payloadFrom(value as Record<string, unknown>, []);
  return undefined;
}

/** Every field of a row but the `taken` ones (subject id, image), as the subject's payload. */
export function payloadFrom(row: Record<string, unknown>, taken: readonly string[]): Payload {
  const payload: Payload = {};
  for (const [key, value] of Object.entries(row)) {
    if (taken.includes(key)) continue;
    const converted = payloadValue(value);
    if (converted !== undefined) payload[key] = converted;
  }
  return payload;
}

export interface SourceRecord {
  /** Where the record came from, for the report and error messages: a file path or `manifest.csv:12`. */
  readonly ref: string;
  readonly subjectId: string;
  /** The subject's payload; empty or absent leaves the subject's payload as it is. */
  readonly payload: Payload | undefined;
  /**
   * The image bytes. Path-based sources read the file only when this is
   * called, so records skipped by a shard or a resume cost no I/O and a chunk
   * in flight holds paths, not photos.
   */
  image(): Promise<Uint8Array>;
  /**
   * Set when the source itself shows the record cannot be enrolled (a row
   * without a subject id, a line that is not JSON): the job reports it as a
   * failure without sending it, and goes on.
   */
  readonly problem?: string;
}

export interface IngestSource {
  /** A stable name for the source (absolute path, or the query), used to match a checkpoint to its job. */
  readonly identity: string;
  /**
   * Every record, in the same order on every run: resuming skips the number
   * of records a checkpoint says are done, so the order is the contract.
   */
  records(): AsyncIterable<SourceRecord>;
  /**
   * How many records belong to the subjects `keep` accepts, when the source
   * can tell cheaply (a listing, a manifest pass, Parquet metadata); undefined
   * when only reading everything would tell (a query).
   */
  count(keep: (subjectId: string) => boolean): Promise<number | undefined>;
  close(): Promise<void>;
}

/** Column (or JSON field) names a tabular source maps to subject id and image. */
export interface ColumnNames {
  /** Holds an image file path, relative to the manifest (or to the working directory for a query). */
  readonly path: string;
  readonly subject: string;
  /** Holds the image bytes themselves (a bytea column, a Hugging Face image struct). */
  readonly image: string;
}

export const DEFAULT_COLUMNS: ColumnNames = { path: 'path', subject: 'subject_id', image: 'image' };
