/**
 * detect → landmarks → align → embed for one image.
 *
 * The pipeline owns no model: it takes three `ModelRunner`s, so the server can
 * hand it batching runners and tests can hand it direct ones. The faces of one
 * image go through landmarks, alignment and embedding concurrently, so a
 * batching runner can put them into one model run.
 *
 * Each model is handed the pixels its input is made from (a small image, a
 * face's box, a face's neighbourhood and warp matrix) rather than the input
 * itself: the runner's session makes the input with the model's image graph
 * where the model runs, so on an inference worker a face's crop and its
 * landmark run are one job, not two (session.ts `RegionItem`).
 */
import { alignmentItems } from './align.js';
import { detectFaces } from './detector.js';
import { embedFace, embedFlipAveraged } from './embedder.js';
import { fivePointsFrom68 } from './face-points.js';
import { decodeImage, type DecodedImage } from './image.js';
import { predictLandmarks } from './landmarks.js';
import type { ModelRunner } from './session.js';
import { boxHeight, boxWidth, type DetectedFace, type Detection, type PipelineResult, type Point, type RgbImage } from './types.js';

export type StageName = 'decode' | 'detect' | 'landmarks' | 'align' | 'embed';

/**
 * What the pipeline tells its instrumentation about a stage; tracing records
 * them as span attributes (telemetry/spans.ts names them). Plain facts, so the
 * pipeline knows nothing of OpenTelemetry.
 */
export interface StageFacts {
  /** Bytes of the encoded image (decode). */
  readonly imageBytes?: number;
  /** Size of the image as sent, before any shrink on decode. */
  readonly imageWidth?: number;
  readonly imageHeight?: number;
  /** Faces the detector found (detect). */
  readonly faces?: number;
  /** The model the stage runs. */
  readonly model?: 'detector' | 'landmarks' | 'embedder';
}

export interface StageFactsOf<T> {
  /** Known before the stage runs, so recorded even when it fails. */
  readonly before?: StageFacts;
  /** Read from the stage's result. */
  readonly after?: (result: T) => StageFacts;
}

/** Wraps each stage, e.g. in a tracing span or a timer; the default runs it as is. */
export interface PipelineInstrumentation {
  stage<T>(name: StageName, fn: () => Promise<T>, facts?: StageFactsOf<T>): Promise<T>;
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
  /** Larger images are shrunk while decoding; results are still in the original image's pixels. */
  readonly maxDecodedPixels?: number;
  readonly detectScoreThreshold: number;
  readonly nmsIouThreshold: number;
  readonly minFaceSizePx: number;
  /**
   * Faces per image that get landmarks and an embedding, largest first; the
   * rest are reported with their box and score only. Absent means no cap
   * (the server always passes `config.pipeline`, whose default is 100).
   */
  readonly maxFacesPerImage?: number;
}

export interface FacePipelineOptions {
  /** Runners that take region items (session.ts): `directRunners` or batched runners on the sessions of `openPipelineSessions`. */
  readonly runners: PipelineRunners;
  readonly settings: FacePipelineSettings;
  readonly instrumentation?: PipelineInstrumentation;
}

export interface AnalyzeOptions {
  /** Skip the embedder (e.g. for `detect`). */
  readonly embed?: boolean;
  /**
   * Embed each face and its mirror image and return the normalised mean:
   * a little more accurate, for twice the embedder's work (embedder.ts).
   */
  readonly flipAverage?: boolean;
  readonly signal?: AbortSignal;
}

/** What each face of one analyze call gets, defaults applied. */
interface FaceWork {
  readonly embed: boolean;
  readonly flipAverage: boolean;
  readonly signal?: AbortSignal;
}

/**
 * An image decoded and searched for faces, with no per-face model work done
 * yet: `describeFaces` then runs landmarks and the embedder on the faces the
 * caller picks. A camera stream uses the pair to embed only the faces whose
 * tracks need it, instead of every face of every frame.
 */
export interface DetectedFrame {
  /** Size of the image the client sent (upright); `detections` are in its pixels. */
  readonly width: number;
  readonly height: number;
  /** In detector score order, highest first. */
  readonly detections: readonly Detection[];
  /** The decoded image (perhaps shrunk), kept for `describeFaces`. */
  readonly image: DecodedImage;
  /** `detections` in the decoded image's pixels. */
  readonly decodedDetections: readonly Detection[];
}

export interface FacePipeline {
  /** Decodes the bytes and finds, landmarks and embeds every face. No face gives `faces: []`. */
  analyze(bytes: Uint8Array, options?: AnalyzeOptions): Promise<PipelineResult>;
  /** The same on an image that is already decoded. */
  analyzeImage(image: RgbImage, options?: AnalyzeOptions): Promise<PipelineResult>;
  /** Decodes the bytes and runs the detector only. */
  detectFrame(bytes: Uint8Array, options?: { signal?: AbortSignal }): Promise<DetectedFrame>;
  /**
   * Landmarks (and, unless `embed` is false, an embedding) for the detections
   * at `indexes` of a detected frame, in that order, in the sent image's
   * pixels. Faces below `minFaceSizePx` get landmarks but no embedding.
   */
  describeFaces(frame: DetectedFrame, indexes: readonly number[], options?: AnalyzeOptions): Promise<DetectedFace[]>;
}

const LANDMARKS_FACTS: StageFactsOf<unknown> = { before: { model: 'landmarks' } };
const EMBED_FACTS: StageFactsOf<unknown> = { before: { model: 'embedder' } };

export function createFacePipeline(options: FacePipelineOptions): FacePipeline {
  const { runners, settings } = options;
  const instrumentation = options.instrumentation ?? passthroughInstrumentation;

  async function embedAligned(image: RgbImage, landmarks: readonly Point[], flipAverage: boolean, signal?: AbortSignal): Promise<Float32Array> {
    // The align stage finds the transform and cuts the region; the warp itself runs with the embedder.
    const [aligned, mirrored] = await instrumentation.stage('align', async () => alignmentItems(image, landmarks, flipAverage));
    if (!mirrored) return instrumentation.stage('embed', () => embedFace(aligned!, runners.embedder, signal), EMBED_FACTS);
    return instrumentation.stage('embed', () => embedFlipAveraged(aligned!, mirrored, runners.embedder, signal), EMBED_FACTS);
  }

  async function processFace(image: RgbImage, detection: Detection, work: FaceWork): Promise<DetectedFace> {
    const { embed, flipAverage, signal } = work;
    const points68 = await instrumentation.stage('landmarks', () => predictLandmarks(image, detection.box, runners.landmarks, signal), LANDMARKS_FACTS);
    const landmarks = fivePointsFrom68(points68);
    const bigEnough = Math.min(boxWidth(detection.box), boxHeight(detection.box)) >= settings.minFaceSizePx;
    if (!embed || !bigEnough) return { ...detection, landmarks };
    const embedding = await embedAligned(image, landmarks, flipAverage, signal);
    return { ...detection, landmarks, embedding };
  }

  const faceWork = (analyzeOptions: AnalyzeOptions): FaceWork => {
    const { signal } = analyzeOptions;
    return { embed: analyzeOptions.embed ?? true, flipAverage: analyzeOptions.flipAverage ?? false, ...(signal ? { signal } : {}) };
  };

  const detect = (image: RgbImage, signal?: AbortSignal) =>
    instrumentation.stage(
      'detect',
      () => detectFaces(image, runners.detector, { scoreThreshold: settings.detectScoreThreshold, nmsIouThreshold: settings.nmsIouThreshold }, signal),
      { before: { model: 'detector' }, after: (found) => ({ faces: found.length }) },
    );

  async function analyzeImage(image: RgbImage, analyzeOptions: AnalyzeOptions = {}): Promise<PipelineResult> {
    const work = faceWork(analyzeOptions);
    const detections = await detect(image, analyzeOptions.signal);
    // A crowd (or a detector fooled by texture) can give thousands of boxes:
    // only the largest get the per-face model work, the rest keep the
    // detector's order and say where they are, like a face too small to embed.
    const chosen = largestIndexes(detections, settings.maxFacesPerImage ?? Number.POSITIVE_INFINITY);
    const faces = await Promise.all(
      detections.map((d, i) => (chosen.has(i) ? processFace(image, d, work) : Promise.resolve({ ...d, landmarks: [] }))),
    );
    return { width: image.width, height: image.height, faces };
  }

  return {
    analyzeImage,
    async analyze(bytes, analyzeOptions) {
      const image = await instrumentation.stage('decode', () => decodeImage(bytes, settings), {
        before: { imageBytes: bytes.length },
        after: (decoded) => ({ imageWidth: decoded.sourceWidth, imageHeight: decoded.sourceHeight }),
      });
      const result = await analyzeImage(image, analyzeOptions);
      return inSourcePixels(result, image.sourceWidth, image.sourceHeight);
    },
    async detectFrame(bytes, detectOptions = {}) {
      const image = await instrumentation.stage('decode', () => decodeImage(bytes, settings), {
        before: { imageBytes: bytes.length },
        after: (decoded) => ({ imageWidth: decoded.sourceWidth, imageHeight: decoded.sourceHeight }),
      });
      const decodedDetections = await detect(image, detectOptions.signal);
      const scaled = inSourcePixels({ width: image.width, height: image.height, faces: decodedDetections.map((d) => ({ ...d, landmarks: [] })) }, image.sourceWidth, image.sourceHeight);
      const detections = scaled.faces.map(({ box, score }) => ({ box, score }));
      return { width: image.sourceWidth, height: image.sourceHeight, detections, image, decodedDetections };
    },
    async describeFaces(frame, indexes, analyzeOptions = {}) {
      const work = faceWork(analyzeOptions);
      const faces = await Promise.all(
        indexes.map((i) => {
          const detection = frame.decodedDetections[i];
          if (!detection) throw new RangeError(`no detection ${i} in this frame`);
          return processFace(frame.image, detection, work);
        }),
      );
      const { image } = frame;
      return inSourcePixels({ width: image.width, height: image.height, faces }, image.sourceWidth, image.sourceHeight).faces.slice();
    },
  };
}

/** Boxes and landmarks of an image decoded smaller, given in the pixels of the image the client sent. */
function inSourcePixels(result: PipelineResult, sourceWidth: number, sourceHeight: number): PipelineResult {
  if (sourceWidth === result.width && sourceHeight === result.height) return result;
  const sx = sourceWidth / result.width;
  const sy = sourceHeight / result.height;
  const faces = result.faces.map((face) => ({
    ...face,
    box: { x1: face.box.x1 * sx, y1: face.box.y1 * sy, x2: face.box.x2 * sx, y2: face.box.y2 * sy },
    landmarks: face.landmarks.map((p) => ({ x: p.x * sx, y: p.y * sy })),
  }));
  return { width: sourceWidth, height: sourceHeight, faces };
}

/** Indexes of the `limit` detections with the largest boxes (all of them when there are no more than that). */
function largestIndexes(detections: readonly Detection[], limit: number): Set<number> {
  const indexes = detections.map((_, i) => i);
  if (detections.length <= limit) return new Set(indexes);
  const area = (i: number) => boxWidth(detections[i]!.box) * boxHeight(detections[i]!.box);
  // Ties keep the detector's order (the higher score first): sort is stable.
  return new Set(indexes.sort((a, b) => area(b) - area(a)).slice(0, Math.max(0, limit)));
}

/** The face with the largest box area, or undefined for none (compare uses it). */
export function largestFace<T extends DetectedFace>(faces: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const face of faces) if (!best || boxWidth(face.box) * boxHeight(face.box) > boxWidth(best.box) * boxHeight(best.box)) best = face;
  return best;
}
