/**
 * A Parquet file, or a folder of them, in the layout Hugging Face datasets
 * use for labelled images: an image column stored as a `{ bytes, path }`
 * struct, a label column whose class names live in the file's `huggingface`
 * key-value metadata (a ClassLabel feature), and any other columns, which
 * become the subject's payload.
 *
 * Read with hyparquet one row group at a time, so a multi-gigabyte dataset
 * needs memory for one row group, never the whole file.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';

import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, type AsyncBuffer, type FileMetaData } from 'hyparquet';

import { FacerecError } from '../../errors.js';
import { payloadFrom, type ColumnNames, type IngestSource, type SourceRecord } from '../source.js';

interface HuggingFaceFeature {
  readonly _type?: string;
  readonly names?: readonly string[];
}

interface OpenedFile {
  readonly path: string;
  readonly buffer: AsyncBuffer;
  readonly metadata: FileMetaData;
  readonly imageColumn: string;
  readonly subjectColumn: string;
  /** Class names of a ClassLabel subject column: the stored integer indexes this list. */
  readonly classNames: readonly string[] | undefined;
}

async function parquetFiles(path: string): Promise<string[]> {
  const root = resolve(path);
  let info;
  try {
    info = await stat(root);
  } catch (error) {
    throw new FacerecError('INVALID_ARGUMENT', `cannot read ${path}: ${(error as Error).message}`);
  }
  if (info.isFile()) return [root];
  // Hugging Face puts splits and shards in subfolders (data/train-00000-of-00004.parquet): take them all, in path order.
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile() && e.name.endsWith('.parquet')).map((e) => join(e.parentPath, e.name));
  if (files.length === 0) throw new FacerecError('INVALID_ARGUMENT', `no .parquet files under ${path}`);
  // Code-unit order, not the locale's: a resume on another machine must list the files in the same order.
  return files.sort((a, b) => (relative(root, a) < relative(root, b) ? -1 : 1));
}

function huggingFaceFeatures(metadata: FileMetaData): Record<string, HuggingFaceFeature> {
  const entry = metadata.key_value_metadata?.find((kv) => kv.key === 'huggingface');
  if (!entry?.value) return {};
  try {
    const parsed = JSON.parse(entry.value) as { info?: { features?: Record<string, HuggingFaceFeature> } };
    return parsed.info?.features ?? {};
  } catch {
    return {};
  }
}

/** The one feature of a Hugging Face type, if exactly one column has it. */
function onlyFeatureOfType(features: Record<string, HuggingFaceFeature>, type: string): string | undefined {
  const names = Object.entries(features).filter(([, f]) => f._type === type).map(([name]) => name);
  return names.length === 1 ? names[0] : undefined;
}

async function openFile(path: string, columns: Partial<ColumnNames>): Promise<OpenedFile> {
  let buffer: AsyncBuffer;
  let metadata: FileMetaData;
  try {
    buffer = await asyncBufferFromFile(path);
    metadata = await parquetMetadataAsync(buffer);
  } catch (error) {
    throw new FacerecError('INVALID_ARGUMENT', `${path} is not a readable Parquet file: ${(error as Error).message}`);
  }
  const features = huggingFaceFeatures(metadata);
  // Named columns win; otherwise the dataset's own metadata says which column is the image and which the label.
  const imageColumn = columns.image ?? onlyFeatureOfType(features, 'Image') ?? 'image';
  const subjectColumn = columns.subject ?? onlyFeatureOfType(features, 'ClassLabel') ?? 'subject_id';
  const present = new Set(metadata.schema.slice(1).map((element) => element.name));
  for (const [name, flag] of [[imageColumn, '--image-column'], [subjectColumn, '--subject-column']] as const) {
    if (!present.has(name)) throw new FacerecError('INVALID_ARGUMENT', `${path} has no column "${name}" (columns: ${[...present].join(', ')}); name it with ${flag}`);
  }
  const classNames = features[subjectColumn]?._type === 'ClassLabel' ? features[subjectColumn]?.names : undefined;
  return { path, buffer, metadata, imageColumn, subjectColumn, classNames };
}

function subjectOf(file: OpenedFile, value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (file.classNames && (typeof value === 'bigint' || typeof value === 'number')) return file.classNames[Number(value)];
  const text = String(value).trim();
  return text === '' ? undefined : text;
}

function rowGroupRanges(metadata: FileMetaData): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let start = 0;
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows);
    ranges.push([start, end]);
    start = end;
  }
  return ranges;
}

function toRecord(file: OpenedFile, row: Record<string, unknown>, index: number): SourceRecord {
  const ref = `${file.path}#${index}`;
  const subjectId = subjectOf(file, row[file.subjectColumn]) ?? '';
  const cell = row[file.imageColumn];
  // Hugging Face stores an image as { bytes, path }: bytes inline, or only a path to a file beside the dataset.
  const struct = cell && typeof cell === 'object' && !(cell instanceof Uint8Array) ? (cell as { bytes?: unknown; path?: unknown }) : undefined;
  const bytes = cell instanceof Uint8Array ? cell : struct?.bytes instanceof Uint8Array ? struct.bytes : undefined;
  const imagePath = typeof struct?.path === 'string' && struct.path !== '' ? struct.path : undefined;
  const payload = payloadFrom(row, [file.subjectColumn, file.imageColumn]);
  const problem = subjectId === '' ? `no ${file.subjectColumn}` : bytes === undefined && imagePath === undefined ? `no image in ${file.imageColumn}` : undefined;
  return {
    ref: imagePath ? `${ref} (${imagePath})` : ref,
    subjectId,
    payload,
    image: async () => bytes ?? readFile(resolve(dirname(file.path), imagePath!)),
    ...(problem ? { problem } : {}),
  };
}

export function openParquetSource(path: string, columns: Partial<ColumnNames>): IngestSource {
  // Listed on first use, not here: a rejected listing nobody awaits yet would be an unhandled rejection.
  let listing: Promise<string[]> | undefined;
  const files = () => (listing ??= parquetFiles(path));
  return {
    identity: `parquet:${resolve(path)}:${columns.image ?? ''}:${columns.subject ?? ''}`,
    async *records(): AsyncIterable<SourceRecord> {
      for (const filePath of await files()) {
        const file = await openFile(filePath, columns);
        for (const [rowStart, rowEnd] of rowGroupRanges(file.metadata)) {
          // utf8: false keeps raw byte columns (the image) as bytes; UTF8-annotated columns still come back as text.
          const rows = (await parquetReadObjects({ file: file.buffer, metadata: file.metadata, rowStart, rowEnd, utf8: false })) as Record<string, unknown>[];
          for (let i = 0; i < rows.length; i++) yield toRecord(file, rows[i]!, rowStart + i);
        }
      }
    },
    async count(keep) {
      let total = 0;
      for (const filePath of await files()) {
        const file = await openFile(filePath, columns);
        // Only the subject column is read: counting a dataset costs a fraction of reading it.
        const rows = (await parquetReadObjects({ file: file.buffer, metadata: file.metadata, columns: [file.subjectColumn] })) as Record<string, unknown>[];
        for (const row of rows) if (keep(subjectOf(file, row[file.subjectColumn]) ?? '')) total++;
      }
      return total;
    },
    close: async () => {},
  };
}
