/**
 * One handler per RPC of facerec.v1.FaceRecognition. Handlers take plain
 * typed requests and return typed responses; call plumbing (auth, deadlines,
 * cancellation, error → status) lives in call-context.ts.
 */
import { ATTR, SPAN } from '../telemetry/names.js';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { FacerecError } from '../errors.js';
import type { Logger } from '../logger.js';
import type {
  DetectRequest,
  DetectResponse,
  Face,
  Info,
  RecognizeRequest,
  RecognizeResponse,
  VerifyRequest,
  VerifyResponse,
} from '../gen/facerec/v1/facerec.js';
import type { HttpBody } from '../gen/google/api/httpbody.js';
import { dot } from '../embedding.js';
import { largestFace } from '../pipeline/pipeline.js';
import type { Payload, VectorStore } from '../store/vector-store.js';
import { checkFilter } from '../store/validate.js';
import { bidiStream, clientStream, unary, type CallContext, type CallHooks } from './call-context.js';
import { toProtoFace, toRecognizeResponse } from './convert.js';
import { imageFromHttpBody } from './http-body.js';
import { MAX_MATCHES_PER_REPLY, planMatches, topKOf } from './reply-limits.js';
import { noSpan, type FaceAnalyzer, type SpanRunner } from './handler-types.js';
import { thresholdOf } from './threshold.js';
import { createRecognizeStreamHandler, type StreamObserver } from './recognize-stream.js';
import type { StreamSettings, UnknownTrackSink } from './stream-session.js';
import { createIngestHandlers, type FaceChoiceSettings } from './ingest.js';
import type { EnrolmentQualitySettings } from './enrolment-quality.js';
import { createSubjectHandlers } from './subjects.js';
import { createReviewHandlers, type ReviewSettings } from './review.js';
import type { ReviewStore } from '../store/review-store.js';

export interface ServiceOptions {
  readonly analyzer: FaceAnalyzer;
  readonly store: VectorStore;
  readonly similarityThreshold: number;
  /** Largest top_k a request may ask for (`server.maxTopK`); default MAX_MATCHES_PER_REPLY. */
  readonly maxTopK?: number;
  readonly info: () => Promise<Info>;
  readonly hooks: CallHooks;
  /** Frames of one RecognizeStream processed at once; results still leave in order. */
  readonly streamWindow?: number;
  /** Tracking and re-embedding settings of RecognizeStream (`config.stream`). */
  readonly stream: StreamSettings;
  /** The review list of unknown faces, its limits and the sink streams keep unknown tracks in; absent: no review RPCs, nothing kept. */
  readonly review?: { readonly store: ReviewStore; readonly settings: ReviewSettings; readonly keepUnknown: UnknownTrackSink };
  /** For what no caller sees (an unknown face that could not be kept for review). */
  readonly logger?: Logger;
  /** RecognizeStream metrics beyond the open-stream count. */
  readonly streamObserver?: StreamObserver;
  /** Runs fn in a named span (stream.frame, ingest.item); default: runs it as is. */
  readonly span?: SpanRunner;
  /** Called around each RecognizeStream (metrics: active streams). */
  readonly onStream?: (delta: 1 | -1) => void;
  /** Items one BulkIngest call may send. */
  readonly maxIngestItems?: number;
  /** Which face an enrolment takes (default policy, DOMINANT ratio). */
  readonly faceChoice?: FaceChoiceSettings;
  /** Limits an enrolled face must meet (size, sharpness, yaw); absent: no quality gate. */
  readonly enrolmentQuality?: EnrolmentQualitySettings;
  /** Enrolled faces are flip-averaged (`enrolment.flipAverage`); absent: plain embeddings. */
  readonly flipAverageEnrolment?: boolean;
  /** Probe faces are flip-averaged too (`pipeline.flipAverageProbes`); absent: plain embeddings. */
  readonly flipAverageProbes?: boolean;
}


export function createFaceRecognitionService(options: ServiceOptions): UntypedServiceImplementation {
  const { analyzer, store, hooks } = options;
  const span = options.span ?? noSpan;
  // The faces a request brings to be matched or compared are probes; enrolments follow their own setting (ingest.ts).
  const flipAverage = options.flipAverageProbes ?? false;

  async function recognize(
    image: Uint8Array,
    request: { topK: number; minSimilarity?: number | undefined; includeEmbedding?: boolean; filter?: Payload | undefined; matchFaces?: boolean },
    context: Pick<CallContext, 'signal'>,
  ): Promise<RecognizeResponse> {
    const k = topKOf(request.topK, options.maxTopK ?? MAX_MATCHES_PER_REPLY);
    const threshold = thresholdOf(request.minSimilarity, options.similarityThreshold);
    // Checked here as well as in the store, so a bad filter costs no inference.
    const filter = checkFilter(request.filter);
    const result = await analyzer.analyze(image, { embed: true, flipAverage, signal: context.signal });
    // top_k × faces is bounded so the reply always fits (reply-limits.ts).
    const plan = planMatches(result.faces, k);
    // Subjects by template unless the client asks for face-level matching.
    const rankBy = request.matchFaces ? 'face' : 'subject';
    const faces: Face[] = await Promise.all(
      result.faces.map(async (face) => {
        const matches = plan.searched.has(face) ? await store.search(face.embedding!, { k: plan.matchesPerFace, minSimilarity: threshold, filter, rankBy }) : [];
        return toProtoFace(face, matches, request.includeEmbedding);
      }),
    );
    return toRecognizeResponse(result, faces, threshold);
  }

  return {
    recognize: unary<RecognizeRequest, RecognizeResponse>('Recognize', hooks, (request, context) => recognize(request.image, request, context)),

    recognizeUpload: unary<HttpBody, RecognizeResponse>('RecognizeUpload', hooks, async (body, context) =>
      recognize(await imageFromHttpBody(body), { topK: 1 }, context),
    ),

    detect: unary<DetectRequest, DetectResponse>('Detect', hooks, async (request, context) => {
      const result = await analyzer.analyze(request.image, { embed: request.includeEmbedding, flipAverage, signal: context.signal });
      return {
        faces: result.faces.map((face) => toProtoFace(face, [], request.includeEmbedding)),
        imageWidth: result.width,
        imageHeight: result.height,
      };
    }),

    verify: unary<VerifyRequest, VerifyResponse>('Verify', hooks, async (request, context) => {
      const threshold = thresholdOf(request.threshold, options.similarityThreshold);
      const [a, b] = await Promise.all([
        analyzer.analyze(request.imageA, { embed: true, flipAverage, signal: context.signal }).catch(renameImageError('image_a')),
        analyzer.analyze(request.imageB, { embed: true, flipAverage, signal: context.signal }).catch(renameImageError('image_b')),
      ]);
      const faceA = largestFace(a.faces.filter((face) => face.embedding));
      const faceB = largestFace(b.faces.filter((face) => face.embedding));
      if (!faceA) throw new FacerecError('NO_FACE', 'image_a');
      if (!faceB) throw new FacerecError('NO_FACE', 'image_b');
      const similarity = dot(faceA.embedding!, faceB.embedding!);
      return { similarity, verified: similarity >= threshold, threshold, faceA: toProtoFace(faceA), faceB: toProtoFace(faceB) };
    }),

    // A small window: frame n+1 decodes and detects while frame n is in the
    // later models, so one camera keeps the batchers busier; each result still
    // leaves as soon as it and the frames before it are done.
    recognizeStream: createRecognizeStreamHandler({
      analyzer,
      store,
      hooks,
      similarityThreshold: options.similarityThreshold,
      maxTopK: options.maxTopK ?? MAX_MATCHES_PER_REPLY,
      settings: options.stream,
      maxFramesInFlight: options.streamWindow ?? 2,
      flipAverage,
      span,
      ...(options.review ? { keepUnknown: options.review.keepUnknown } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      observe: { ...options.streamObserver, stream: (delta) => options.onStream?.(delta) },
    }),

    getInfo: unary('GetInfo', hooks, () => options.info()),

    ...createIngestHandlers({ analyzer, store, hooks, span, maxItemsPerStream: options.maxIngestItems, faceChoice: options.faceChoice, quality: options.enrolmentQuality, flipAverage: options.flipAverageEnrolment }),
    ...createSubjectHandlers({ store, hooks }),
    ...(options.review ? createReviewHandlers({ review: options.review.store, store, hooks, settings: options.review.settings }) : {}),
  };
}

function renameImageError(field: string) {
  return (error: unknown): never => {
    // Say which of the two images was bad.
    if (error instanceof FacerecError && error.status === 'INVALID_ARGUMENT') error.message = `${field}: ${error.message}`;
    throw error;
  };
}
