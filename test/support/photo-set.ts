/**
 * One labelled photo set written in every layout `facerec ingest` reads: a
 * folder per subject, a CSV or JSON-lines manifest, a Hugging Face style
 * Parquet file (or a folder of them) and PostgreSQL tables with bytes or
 * paths. The reader contract tests and the end-to-end ingest tests build
 * their sources here, so every layout carries exactly the same records.
 *
 * Entries are written in (subject, file) order, the order the folder reader
 * lists them in, so every source yields the same sequence.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { parquetWriteBuffer } from 'hyparquet-writer';

import type { TestPostgres } from './postgres.js';

export interface PhotoSetEntry {
  readonly subjectId: string;
  /** File name within the subject's folder. */
  readonly file: string;
  readonly bytes: Buffer;
}

export type FileLayout = 'folder' | 'csv' | 'jsonl' | 'parquet' | 'parquet-folder';

/** The payload every layout carries: folders derive it from the folder name, the others store it as a column. */
export function payloadOf(entry: Pick<PhotoSetEntry, 'subjectId'>): { name: string } {
  return { name: entry.subjectId.replaceAll('_', ' ') };
}

export function sortedEntries(entries: readonly PhotoSetEntry[]): PhotoSetEntry[] {
  return [...entries].sort((a, b) => (a.subjectId === b.subjectId ? (a.file < b.file ? -1 : 1) : a.subjectId < b.subjectId ? -1 : 1));
}

/** Writes the images as `<dir>/<subject>/<file>` and returns those relative paths. */
async function writeImages(entries: readonly PhotoSetEntry[], dir: string): Promise<string[]> {
  const paths: string[] = [];
  for (const entry of entries) {
    await mkdir(join(dir, entry.subjectId), { recursive: true });
    await writeFile(join(dir, entry.subjectId, entry.file), entry.bytes);
    paths.push(`${entry.subjectId}/${entry.file}`);
  }
  return paths;
}

const csvCell = (value: string) => (/[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);

function parquetBuffer(entries: readonly PhotoSetEntry[], classNames: readonly string[]): ArrayBuffer {
  return parquetWriteBuffer({
    columnData: [
      { name: 'image', data: entries.map((e) => ({ bytes: new Uint8Array(e.bytes), path: e.file })) },
      { name: 'label', data: entries.map((e) => BigInt(classNames.indexOf(e.subjectId))) },
      { name: 'name', data: entries.map((e) => payloadOf(e).name) },
    ],
    schema: [
      { name: 'schema', num_children: 3 },
      { name: 'image', repetition_type: 'OPTIONAL', num_children: 2 },
      { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
      { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'label', type: 'INT64', repetition_type: 'OPTIONAL' },
      { name: 'name', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
    ],
    // The metadata `datasets` writes: the label column is a ClassLabel whose names are the subject ids.
    kvMetadata: [
      {
        key: 'huggingface',
        value: JSON.stringify({ info: { features: { image: { _type: 'Image' }, label: { _type: 'ClassLabel', names: classNames }, name: { dtype: 'string', _type: 'Value' } } } }),
      },
    ],
    // Small row groups, so reading crosses several of them.
    rowGroupSize: 3,
  });
}

/** Writes the set in `layout` under `dir` and returns the path to give `facerec ingest`. */
export async function writePhotoSet(unsorted: readonly PhotoSetEntry[], dir: string, layout: FileLayout): Promise<string> {
  const entries = sortedEntries(unsorted);
  await mkdir(dir, { recursive: true });
  switch (layout) {
    case 'folder':
      await writeImages(entries, dir);
      return dir;
    case 'csv': {
      const paths = await writeImages(entries, join(dir, 'images'));
      const rows = entries.map((e, i) => [`images/${paths[i]}`, e.subjectId, payloadOf(e).name].map(csvCell).join(','));
      await writeFile(join(dir, 'manifest.csv'), ['path,subject_id,name', ...rows].join('\n') + '\n');
      return join(dir, 'manifest.csv');
    }
    case 'jsonl': {
      const paths = await writeImages(entries, join(dir, 'images'));
      const lines = entries.map((e, i) => JSON.stringify({ path: `images/${paths[i]}`, subject_id: e.subjectId, ...payloadOf(e) }));
      await writeFile(join(dir, 'manifest.jsonl'), lines.join('\n') + '\n');
      return join(dir, 'manifest.jsonl');
    }
    case 'parquet': {
      const classNames = [...new Set(entries.map((e) => e.subjectId))].sort();
      await writeFile(join(dir, 'train.parquet'), Buffer.from(parquetBuffer(entries, classNames)));
      return join(dir, 'train.parquet');
    }
    case 'parquet-folder': {
      // Hugging Face's layout for a split in shards: data/train-0000i-of-0000N.parquet, one ClassLabel list for all.
      const classNames = [...new Set(entries.map((e) => e.subjectId))].sort();
      const half = Math.ceil(entries.length / 2);
      await mkdir(join(dir, 'data'), { recursive: true });
      await writeFile(join(dir, 'data', 'train-00000-of-00002.parquet'), Buffer.from(parquetBuffer(entries.slice(0, half), classNames)));
      await writeFile(join(dir, 'data', 'train-00001-of-00002.parquet'), Buffer.from(parquetBuffer(entries.slice(half), classNames)));
      return dir;
    }
  }
}

/**
 * The set as a table: `bytea` keeps the image bytes in the row, `paths` keeps
 * absolute file paths (the images written under `dir`). Returns the query to
 * ingest it with, ordered so a resume skips the same rows.
 */
export async function writePhotoSetTable(unsorted: readonly PhotoSetEntry[], db: TestPostgres, table: string, mode: 'bytea' | 'paths', dir: string): Promise<string> {
  const entries = sortedEntries(unsorted);
  const paths = mode === 'paths' ? await writeImages(entries, dir) : [];
  const imageColumn = mode === 'bytea' ? 'image bytea' : 'path text';
  await db.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, subject_id text, ${imageColumn}, name text)`);
  for (const [i, entry] of entries.entries()) {
    const value = mode === 'bytea' ? entry.bytes : join(dir, paths[i]!);
    await db.query(`INSERT INTO ${table} (subject_id, ${mode === 'bytea' ? 'image' : 'path'}, name) VALUES ($1, $2, $3)`, [entry.subjectId, value, payloadOf(entry).name]);
  }
  return `SELECT subject_id, ${mode === 'bytea' ? 'image' : 'path'}, name FROM ${table} ORDER BY id`;
}
