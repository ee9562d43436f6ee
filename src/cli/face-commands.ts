/** `facerec detect | embed | compare`: one image (or two) through the pipeline, JSON on stdout. */
import { readFile } from 'node:fs/promises';
import type { Config } from '../config/schema.js';
import { FacerecError } from '../errors.js';
import { cosineSimilarity, largestFace, type DetectedFace, type FacePipeline, type PipelineResult } from '../pipeline/index.js';
import { UsageError, type CommandContext } from './command.js';
import { openPipeline } from './open-pipeline.js';

// Also the home ingest.ts imports them from.
export { UsageError, type CommandContext } from './command.js';

const round = (x: number, digits: number) => Number(x.toFixed(digits));

/** Indented JSON with number arrays and small flat objects kept on one line, so a face fits on a few lines. */
export function prettyJson(value: unknown): string {
  return JSON.stringify(value, null, 2)
    .replace(/\[\s+([-\d.e+,\s]+?)\s+\]/g, (_m, inner: string) => `[${inner.split(/,\s*/).join(', ')}]`)
    .replace(/\{\s+("\w+": [-\d.e+]+,?\s+)+\}/g, (m) => m.replace(/\s+/g, ' ').replace('{ ', '{ ').trim());
}

/** `embedded` says whether the face was big enough to embed; `detect` runs no embedder and leaves it out. */
export function faceJson(face: DetectedFace, withEmbedding: boolean, reportEmbedded = true) {
  return {
    box: { x1: round(face.box.x1, 1), y1: round(face.box.y1, 1), x2: round(face.box.x2, 1), y2: round(face.box.y2, 1) },
    score: round(face.score, 4),
    landmarks: face.landmarks.map((p) => [round(p.x, 1), round(p.y, 1)]),
    ...(reportEmbedded ? { embedded: face.embedding !== undefined } : {}),
    ...(withEmbedding && face.embedding ? { embedding: Array.from(face.embedding, (v) => round(v, 6)) } : {}),
  };
}

function resultJson(file: string, result: PipelineResult, withEmbedding: boolean, reportEmbedded = true) {
  return { image: file, width: result.width, height: result.height, faces: result.faces.map((f) => faceJson(f, withEmbedding, reportEmbedded)) };
}

async function readImage(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new FacerecError('INVALID_ARGUMENT', `cannot read ${path}${code ? ` (${code})` : ''}`, { cause });
  }
}

async function withPipeline<T>(config: Config, fn: (pipeline: FacePipeline) => Promise<T>): Promise<T> {
  const opened = await openPipeline(config);
  try {
    return await fn(opened.pipeline);
  } finally {
    await opened.close();
  }
}

export async function detectCommand(args: readonly string[], ctx: CommandContext): Promise<void> {
  const [file] = args;
  if (!file || args.length !== 1) throw new UsageError('detect takes one image path');
  const bytes = await readImage(file);
  const result = await withPipeline(ctx.config, (p) => p.analyze(bytes, { embed: false }));
  ctx.stdout(prettyJson(resultJson(file, result, false, false)));
}

export async function embedCommand(args: readonly string[], ctx: CommandContext): Promise<void> {
  const [file] = args;
  if (!file || args.length !== 1) throw new UsageError('embed takes one image path');
  const bytes = await readImage(file);
  const result = await withPipeline(ctx.config, (p) => p.analyze(bytes));
  ctx.stdout(JSON.stringify(resultJson(file, result, true)));
}

export async function compareCommand(args: readonly string[], ctx: CommandContext): Promise<void> {
  const [a, b] = args;
  if (!a || !b || args.length !== 2) throw new UsageError('compare takes two image paths');
  const [bytesA, bytesB] = await Promise.all([readImage(a), readImage(b)]);
  const threshold = ctx.config.pipeline.similarityThreshold;
  const output = await withPipeline(ctx.config, async (p) => {
    const [ra, rb] = await Promise.all([p.analyze(bytesA), p.analyze(bytesB)]);
    const fa = largestFace(ra.faces.filter((f) => f.embedding));
    const fb = largestFace(rb.faces.filter((f) => f.embedding));
    const similarity = fa?.embedding && fb?.embedding ? cosineSimilarity(fa.embedding, fb.embedding) : null;
    return {
      a: { image: a, faces: ra.faces.length, face: fa ? faceJson(fa, false) : null },
      b: { image: b, faces: rb.faces.length, face: fb ? faceJson(fb, false) : null },
      similarity: similarity === null ? null : round(similarity, 4),
      threshold,
      match: similarity !== null && similarity >= threshold,
      ...(similarity === null ? { reason: `no embeddable face in ${fa ? b : a}` } : {}),
    };
  });
  ctx.stdout(prettyJson(output));
}
