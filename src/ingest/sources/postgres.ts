/**
 * A PostgreSQL query: one row per photo, with the image as bytes (a bytea
 * column) or as a file path, a subject id column, and any other columns as
 * the subject's payload.
 *
 * Rows come through a server-side cursor (pg-query-stream), a batch at a
 * time, so a table of millions of photos is never loaded at once. The
 * connection comes from the standard PG* environment variables, or from a
 * URL in an environment variable the operator names, so no password is ever
 * a command-line argument visible in `ps`.
 *
 * Resuming skips rows by position, so the query needs a stable ORDER BY.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import pg from 'pg';
import QueryStream from 'pg-query-stream';

import { FacerecError } from '../../errors.js';
import { payloadFrom, type ColumnNames, type IngestSource, type SourceRecord } from '../source.js';

export interface PostgresSourceOptions {
  readonly query: string;
  /** Name of an environment variable holding a postgres:// URL; absent: PGHOST, PGUSER, PGDATABASE… */
  readonly urlEnv?: string | undefined;
  readonly columns: ColumnNames;
  /** Rows fetched per cursor round trip. */
  readonly batchSize?: number;
  readonly env?: NodeJS.ProcessEnv;
}

function connectionConfig(options: PostgresSourceOptions): pg.ClientConfig {
  if (options.urlEnv === undefined) return {};
  const url = (options.env ?? process.env)[options.urlEnv];
  if (!url) throw new FacerecError('INVALID_ARGUMENT', `--pg-url-env ${options.urlEnv}: that environment variable is not set`);
  return { connectionString: url };
}

function toRecord(row: Record<string, unknown>, position: number, columns: ColumnNames): SourceRecord {
  const subjectValue = row[columns.subject];
  const subjectId = subjectValue === null || subjectValue === undefined ? '' : String(subjectValue).trim();
  const bytes = Buffer.isBuffer(row[columns.image]) ? (row[columns.image] as Buffer) : undefined;
  const path = typeof row[columns.path] === 'string' && row[columns.path] !== '' ? (row[columns.path] as string) : undefined;
  // json/jsonb columns arrive parsed and become nested payload values.
  const payload = payloadFrom(row, [columns.subject, columns.image, columns.path]);
  const problem =
    subjectId === '' ? `no ${columns.subject}` : bytes === undefined && path === undefined ? `neither ${columns.image} (bytea) nor ${columns.path} is set` : undefined;
  return {
    ref: path ? `row ${position} (${path})` : `row ${position}`,
    subjectId,
    payload,
    image: async () => bytes ?? readFile(resolve(path!)),
    ...(problem ? { problem } : {}),
  };
}

export function openPostgresSource(options: PostgresSourceOptions): IngestSource {
  const { columns } = options;
  return {
    identity: `postgres:${options.urlEnv ?? 'PG*'}:${options.query}`,
    async *records(): AsyncIterable<SourceRecord> {
      const client = new pg.Client(connectionConfig(options));
      // A connection the database drops mid-job (a failover, a timeout) is reported through the cursor below;
      // without a listener pg would raise it as an uncaught exception.
      let dropped: Error | undefined;
      client.on('error', (error) => {
        dropped = error;
      });
      try {
        await client.connect();
      } catch (error) {
        throw new FacerecError('INVALID_ARGUMENT', `cannot connect to PostgreSQL: ${(error as Error).message}`, { cause: error });
      }
      try {
        const rows = client.query(new QueryStream(options.query, [], { batchSize: options.batchSize ?? 64 }));
        let position = 0;
        let checked = false;
        try {
          for await (const row of rows as AsyncIterable<Record<string, unknown>>) {
            if (!checked) {
              checked = true;
              if (!(columns.subject in row)) throw new FacerecError('INVALID_ARGUMENT', `the query returns no column "${columns.subject}" (columns: ${Object.keys(row).join(', ')}); name it with --subject-column`);
              if (!(columns.image in row) && !(columns.path in row)) {
                throw new FacerecError('INVALID_ARGUMENT', `the query returns neither "${columns.image}" (bytea) nor "${columns.path}" (columns: ${Object.keys(row).join(', ')}); name one with --image-column or --path-column`);
              }
            }
            yield toRecord(row, position++, columns);
          }
        } catch (error) {
          if (error instanceof FacerecError) throw error;
          const reason = (dropped ?? (error as Error)).message;
          throw new FacerecError('INVALID_ARGUMENT', `query failed: ${reason} (--resume continues after the last finished chunk)`, { cause: error });
        }
      } finally {
        await client.end().catch(() => {});
      }
    },
    // Counting would run the query twice; the progress shows a rate without a total instead.
    count: async () => undefined,
    close: async () => {},
  };
}
