/**
 * A manifest listing photos: a CSV file with a header row, or JSON lines (one
 * object per line). One column/field names the image file (relative to the
 * manifest), one the subject id; every other column/field becomes the
 * subject's payload, so a manifest can carry names, departments or badge
 * numbers along with the photos.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';

import { parse } from 'csv-parse';

import { FacerecError } from '../../errors.js';
import { payloadFrom, type ColumnNames, type IngestSource, type SourceRecord } from '../source.js';

export type ManifestFormat = 'csv' | 'jsonl';

interface ManifestRow {
  /** 1-based line of the row in the manifest, for the report. */
  readonly line: number;
  readonly fields: Record<string, unknown> | undefined;
  /** Why the line could not be read as a row at all. */
  readonly problem?: string;
}

async function* csvRows(file: string): AsyncIterable<ManifestRow> {
  // relax_column_count: a short row is one bad record, not the end of the job.
  const parser = createReadStream(file).pipe(parse({ columns: true, bom: true, skip_empty_lines: true, relax_column_count: true, info: true }));
  for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
    yield { line: info.lines, fields: record };
  }
}

async function* jsonLines(file: string): AsyncIterable<ManifestRow> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      yield { line, fields: undefined, problem: `not JSON: ${(error as Error).message}` };
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) yield { line, fields: undefined, problem: 'not a JSON object' };
    else yield { line, fields: value as Record<string, unknown> };
  }
}

/**
 * A CSV cell or JSON field as a subject id: strings and numbers only, trimmed.
 * A JSON number past 2^53 has already lost digits in JSON.parse (two people
 * would become one), so it is refused: quote such ids in the manifest.
 */
function idFrom(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? String(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

export function openManifestSource(manifest: string, format: ManifestFormat, columns: Pick<ColumnNames, 'path' | 'subject'>): IngestSource {
  const file = resolve(manifest);
  const base = dirname(file);
  const rows = () => (format === 'csv' ? csvRows(file) : jsonLines(file));

  async function* checkedRows(): AsyncIterable<ManifestRow> {
    let first = true;
    try {
      for await (const row of rows()) {
        // A CSV header without the named columns is a mistake in the command, not in one row: stop with the fix.
        if (first && format === 'csv' && row.fields) {
          for (const name of [columns.path, columns.subject]) {
            if (!(name in row.fields)) {
              const flag = name === columns.path ? '--path-column' : '--subject-column';
              throw new FacerecError('INVALID_ARGUMENT', `${manifest} has no column "${name}" (columns: ${Object.keys(row.fields).join(', ')}); name it with ${flag}`);
            }
          }
        }
        first = false;
        yield row;
      }
    } catch (error) {
      if (error instanceof FacerecError) throw error;
      throw new FacerecError('INVALID_ARGUMENT', `cannot read ${manifest}: ${(error as Error).message}`, { cause: error });
    }
  }

  return {
    identity: `${format}:${file}:${columns.path}:${columns.subject}`,
    async *records(): AsyncIterable<SourceRecord> {
      for await (const row of checkedRows()) yield toRecord(manifest, base, row, columns);
    },
    async count(keep) {
      let total = 0;
      for await (const row of checkedRows()) if (keep(idFrom(row.fields?.[columns.subject]) ?? '')) total++;
      return total;
    },
    close: async () => {},
  };
}

function toRecord(manifest: string, base: string, row: ManifestRow, columns: Pick<ColumnNames, 'path' | 'subject'>): SourceRecord {
  const ref = `${manifest}:${row.line}`;
  const fields = row.fields ?? {};
  const subjectId = idFrom(fields[columns.subject]) ?? '';
  const relative = typeof fields[columns.path] === 'string' ? (fields[columns.path] as string).trim() : '';
  const payload = payloadFrom(fields, [columns.path, columns.subject]);
  const unsafeNumber = typeof fields[columns.subject] === 'number' && subjectId === '';
  const problem =
    row.problem ??
    (unsafeNumber
      ? `${columns.subject} is a number too large to read exactly; quote it as a string`
      : subjectId === ''
        ? `no ${columns.subject}`
        : relative === ''
          ? `no ${columns.path}`
          : undefined);
  const path = resolve(base, relative);
  return {
    ref: relative === '' ? ref : `${ref} (${relative})`,
    subjectId,
    payload,
    image: () => readFile(path),
    ...(problem ? { problem } : {}),
  };
}
