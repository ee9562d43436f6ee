/** Messages between run.ts's pool and a library worker. */
import type { LibraryInfo, LibraryName } from './face-library.js';

export interface WorkerSetup {
  readonly library: LibraryName;
}

export interface ImageJob {
  readonly id: number;
  readonly path: string;
  /** Send back the largest face's embedding (identity crops); otherwise only the count. */
  readonly wantEmbedding: boolean;
}

export interface ImageResult {
  readonly id: number;
  readonly faces: number;
  /** The largest face's embedding, when asked for and a face was found. */
  readonly embedding?: readonly number[];
  readonly error?: string;
}

export type WorkerMessage = { readonly type: 'ready'; readonly info: LibraryInfo } | { readonly type: 'failed'; readonly error: string } | ({ readonly type: 'result' } & ImageResult);
