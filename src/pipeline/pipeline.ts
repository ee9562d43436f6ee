/**
 * detect → landmarks → align → embed for one image.
 *
 * The pipeline owns no model: it takes three `ModelRunner`s, so the server can
 * hand it batching runners and tests can hand it direct ones. The faces of one
 * image go through landmarks, alignment and embedding concurrently, so a
 * batching runner can put them into one model run.
 */
import { alignFace } from './align.js';
import { detectFaces } from './detector.js';
import { embedFace } from './embedder.js';
import { fivePointsFrom68 } from './face-points.js';
import type { FaceImageOps } from './face-image-ops.js';
import { decodeImage } from './image.js';
import { predictLandmarks } from './landmarks.js';
import type { ModelRunner } from './session.js';
import { boxHeight, boxWidth, type DetectedFace, type Detection, type PipelineResult, type RgbImage } from './types.js';

export type StageName = 'decode' | 'detect' | 'landmarks' | 'align' | 'embed';

/** Wraps each stage, e.g. in a tracing span or a timer; the default runs it as is. */
export interface PipelineInstrumentation {
  stage<T>(name: StageName, fn: () => Promise<T>): Promise<T>;
}

export const passthroughInstrumentation: PipelineInstrumentation = { stage: (_name, fn) => fn() };

export interface PipelineRunners {
  readonly detector: ModelRunner;
  readonly landmarks: ModelRunner;
  readonly embedder: ModelRunner;
}

/** The slice of `config.pipeline` the pipeline reads. */
export interface FacePipelineSettings {
  readonly maxImagePixels: number;
  readonly detectScoreThreshold: number;
  readonly nmsIouThreshold: number;
  readonly minFaceSizePx: number;
}

export interface FacePipelineOptions {
  readonly runners: PipelineRunners;
  /** Landmark crop and alignment warp (`openFaceImageOps`, or `PipelineSessions.imageOps`). */
  readonly imageOps: FaceImageOps;
  readonly settings: FacePipelineSettings;
  readonly instrumentation?: PipelineInstrumentation;
}

export interface AnalyzeOptions {
  /** Skip the embedder (e.g. for `detect`). */
  readonly embed?: boolean;
  readonly signal?: AbortSignal;
}

export interface FacePipeline {
  /** Decodes the bytes and finds, landmarks and embeds every face. No face gives `faces: []`. */
  analyze(bytes: Uint8Array, options?: AnalyzeOptions): Promise<PipelineResult>;
  /** The same on an image that is already decoded. */
  analyzeImage(image: RgbImage, options?: AnalyzeOptions): Promise<PipelineResult>;
}

export function createFacePipeline(options: FacePipelineOptions): FacePipeline {
  const { runners, settings, imageOps } = options;
  const instrumentation = options.instrumentation ?? passthroughInstrumentation;

  async function processFace(image: RgbImage, detection: Detection, embed: boolean, signal?: AbortSignal): Promise<DetectedFace> {
    const points68 = await instrumentation.stage('landmarks', () => predictLandmarks(image, detection.box, runners.landmarks, imageOps, signal));
    const landmarks = fivePointsFrom68(points68);
    const bigEnough = Math.min(boxWidth(detection.box), boxHeight(detection.box)) >= settings.minFaceSizePx;
    if (!embed || !bigEnough) return { ...detection, landmarks };
    const aligned = await instrumentation.stage('align', () => alignFace(image, landmarks, imageOps));
    const embedding = await instrumentation.stage('embed', () => embedFace(aligned, runners.embedder, signal));
    return { ...detection, landmarks, embedding };
  }

  async function analyzeImage(image: RgbImage, analyzeOptions: AnalyzeOptions = {}): Promise<PipelineResult> {
    const { signal } = analyzeOptions;
    const embed = analyzeOptions.embed ?? true;
    const detections = await instrumentation.stage('detect', () =>
      detectFaces(image, runners.detector, { scoreThreshold: settings.detectScoreThreshold, nmsIouThreshold: settings.nmsIouThreshold }, signal),
    );
    const faces = await Promise.all(detections.map((d) => processFace(image, d, embed, signal)));
    return { width: image.width, height: image.height, faces };
  }

  return {
    analyzeImage,
    async analyze(bytes, analyzeOptions) {
      const image = await instrumentation.stage('decode', () => decodeImage(bytes, settings));
      return analyzeImage(image, analyzeOptions);
    },
  };
}

/** The face with the largest box area, or undefined for none (compare uses it). */
export function largestFace<T extends DetectedFace>(faces: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const face of faces) if (!best || boxWidth(face.box) * boxHeight(face.box) > boxWidth(best.box) * boxHeight(best.box)) best = face;
  return best;
}
