/**
 * What the benchmark needs from a face library: find every face in an RGB
 * image and embed each one. Each library lives behind this in its own
 * worker thread, on its own tfjs wasm backend.
 */
import type { RgbImage } from './decode.js';

export const LIBRARY_NAMES = ['@vladmandic/face-api', '@vladmandic/human'] as const;
export type LibraryName = (typeof LIBRARY_NAMES)[number];

/** Short names for --only. */
export const LIBRARY_SHORT_NAMES: Readonly<Record<string, LibraryName>> = { 'face-api': '@vladmandic/face-api', human: '@vladmandic/human' };

/**
 * How two embeddings of a library are compared: Human's descriptors by
 * cosine similarity, face-api's by euclidean distance (its FaceMatcher's
 * measure, 0.6 by default), turned into a similarity by negating it.
 */
export type EmbeddingMetric = 'cosine-similarity' | 'euclidean-distance';

export interface FoundFace {
  /** Box area in pixels, to pick the largest face of an identity crop. */
  readonly area: number;
  readonly embedding: readonly number[];
}

export interface LibraryInfo {
  readonly library: LibraryName;
  readonly version: string;
  readonly backend: string;
  readonly tfjsVersion: string;
  readonly threads: number;
  readonly metric: EmbeddingMetric;
}

export interface FaceLibrary {
  readonly info: LibraryInfo;
  analyze(image: RgbImage): Promise<FoundFace[]>;
}
