/**
 * Enrolment: BulkIngest (client stream) and EnrollFace (unary). One bad item
 * never aborts a stream: it is reported in IngestSummary.errors and the rest
 * are enrolled. Items are processed a few at a time so the faces of
 * neighbouring items share model batches.
 */
import { ATTR, SPAN } from '../telemetry/names.js';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { FacerecError } from '../errors.js';
import { FacePolicy, type EnrollFaceResponse, type IngestRequest, type IngestSummary, type ItemError } from '../gen/facerec/v1/facerec.js';
import type { DetectedFace } from '../pipeline/types.js';
import { deriveFaceId, sha256Hex } from '../store/face-id.js';
import { checkId, checkPayload } from '../store/validate.js';
import type { VectorStore } from '../store/vector-store.js';
import { clientStream, unary, type CallContext, type CallHooks } from './call-context.js';
import { forEachConcurrently } from './stream-window.js';
import { toProtoFace } from './convert.js';
import { checkEnrolmentQuality, type EnrolmentQualitySettings } from './enrolment-quality.js';
import { noSpan, type FaceAnalyzer, type SpanRunner } from './handler-types.js';
import { codeName, toServiceError } from './status.js';

export interface IngestOptions {
  readonly analyzer: FaceAnalyzer;
  readonly store: VectorStore;
  readonly hooks: CallHooks;
  readonly span?: SpanRunner;
  /** Items analysed at once within one stream. */
  readonly concurrency?: number;
  /** Items one BulkIngest call may send; more end the call with STREAM_TOO_LONG. */
  readonly maxItemsPerStream?: number;
  /** Item errors a summary lists in full; the rest are counted in errors_omitted. */
  readonly maxReportedErrors?: number;
  /** The server's default face policy and the DOMINANT ratio. */
  readonly faceChoice?: FaceChoiceSettings;
  /** Limits the chosen face must meet (size, sharpness, yaw); absent: every chosen face is enrolled. */
  readonly quality?: EnrolmentQualitySettings;
  /**
   * Store the mean of the face's and its mirror image's embeddings: a gallery
   * face is embedded once and matched many times, so the extra embedder run
   * is paid once. Absent: plain embeddings.
   */
  readonly flipAverage?: boolean;
}

export const DEFAULT_MAX_REPORTED_ERRORS = 100;

export interface FaceChoiceSettings {
  /** What FACE_POLICY_UNSPECIFIED means on this server. */
  readonly defaultPolicy: FacePolicy;
  /** DOMINANT: how many times larger than the next face the largest must be. */
  readonly dominantAreaRatio: number;
}

export const DEFAULT_FACE_CHOICE: FaceChoiceSettings = { defaultPolicy: FacePolicy.FACE_POLICY_DOMINANT, dominantAreaRatio: 2 };

const POLICY_BY_NAME: Readonly<Record<string, FacePolicy>> = {
  dominant: FacePolicy.FACE_POLICY_DOMINANT,
  reject: FacePolicy.FACE_POLICY_REJECT,
  largest: FacePolicy.FACE_POLICY_LARGEST,
};

/** The configured policy name (`enrolment.defaultFacePolicy`) as the proto enum. */
export function facePolicyNamed(name: string): FacePolicy {
  const policy = POLICY_BY_NAME[name];
  if (policy === undefined) throw new FacerecError('CONFIG_INVALID', `unknown face policy "${name}"`);
  return policy;
}

function boxArea(face: DetectedFace): number {
  return Math.max(0, face.box.x2 - face.box.x1) * Math.max(0, face.box.y2 - face.box.y1);
}

/**
 * Picks the face to enrol according to the item's policy. Faces too small to
 * embed are background for every policy: they never make a photo ambiguous.
 */
export function chooseFace(faces: readonly DetectedFace[], requested: FacePolicy, settings: FaceChoiceSettings = DEFAULT_FACE_CHOICE): DetectedFace {
  const policy = requested === FacePolicy.FACE_POLICY_UNSPECIFIED ? settings.defaultPolicy : requested;
  const usable = faces.filter((face) => face.embedding);
  if (usable.length === 0) {
    throw new FacerecError('NO_FACE', faces.length > 0 ? `${faces.length} face(s) found, all below the minimum face size` : undefined);
  }
  const byArea = [...usable].sort((a, b) => boxArea(b) - boxArea(a));
  const [largest, next] = [byArea[0]!, byArea[1]];
  if (next === undefined || policy === FacePolicy.FACE_POLICY_LARGEST) return largest;
  const details = { details: { faces: usable.length } };
  if (policy === FacePolicy.FACE_POLICY_DOMINANT) {
    if (boxArea(largest) >= settings.dominantAreaRatio * boxArea(next)) return largest;
    throw new FacerecError(
      'MULTIPLE_FACES',
      `${usable.length} faces found and the largest is less than ${settings.dominantAreaRatio}× the area of the next; crop the photo to the subject, or send face_policy FACE_POLICY_LARGEST`,
      details,
    );
  }
  throw new FacerecError('MULTIPLE_FACES', `${usable.length} faces found; send face_policy FACE_POLICY_DOMINANT or FACE_POLICY_LARGEST to enrol the main face`, details);
}

export function createIngestHandlers(options: IngestOptions): UntypedServiceImplementation {
  const { analyzer, store, hooks } = options;
  const span: SpanRunner = options.span ?? noSpan;

  async function enrolOne(item: IngestRequest, context: Pick<CallContext, 'signal'>): Promise<EnrollFaceResponse> {
    checkId('subject_id', item.subjectId);
    if (item.faceId !== undefined) checkId('face_id', item.faceId);
    // The store checks it too; checked first here, a bad payload costs no inference.
    checkPayload(item.payload, 'payload');
    const result = await analyzer.analyze(item.image, { embed: true, flipAverage: options.flipAverage ?? false, signal: context.signal });
    const face = chooseFace(result.faces, item.facePolicy, options.faceChoice);
    // Before the store is touched: a refused photo leaves the subject as it was.
    if (options.quality) await checkEnrolmentQuality({ bytes: item.image, width: result.width, height: result.height }, face, options.quality);
    const imageSha256 = sha256Hex(item.image);
    const faceId = item.faceId ?? deriveFaceId(item.subjectId, imageSha256);
    const duplicate = await faceExists(store, faceId);
    const subjectPayload = item.payload && Object.keys(item.payload).length > 0 ? item.payload : undefined;
    await store.upsertFaces([{ faceId, subjectId: item.subjectId, embedding: face.embedding!, imageSha256, subjectPayload }]);
    return { subjectId: item.subjectId, faceId, duplicate, face: toProtoFace(face) };
  }

  /**
   * A photo this subject already has (same derived face id) is a duplicate
   * before any model runs: re-running an ingest job over a large set costs a
   * hash and a lookup per photo, not an inference. A new payload still
   * replaces the subject's, as a full enrolment would.
   */
  async function alreadyEnrolled(item: IngestRequest): Promise<boolean> {
    if (item.faceId !== undefined || item.subjectId.length === 0 || item.image.length === 0) return false;
    const faceId = deriveFaceId(item.subjectId, sha256Hex(item.image));
    if (!(await faceExists(store, faceId))) return false;
    if (item.payload && Object.keys(item.payload).length > 0) {
      checkPayload(item.payload, 'payload');
      await store.updateSubject(item.subjectId, item.payload);
    }
    return true;
  }

  return {
    enrollFace: unary<IngestRequest, EnrollFaceResponse>('EnrollFace', hooks, (item, context) => enrolOne(item, context)),

    bulkIngest: clientStream<IngestRequest, IngestSummary>('BulkIngest', hooks, async (items, context) => {
      const started = performance.now();
      const summary = { received: 0, enrolled: 0, duplicates: 0, failed: 0 };
      const errors = new ItemErrors(options.maxReportedErrors ?? DEFAULT_MAX_REPORTED_ERRORS);
      const maxItems = options.maxItemsPerStream ?? Number.POSITIVE_INFINITY;

      const indexed = async function* () {
        for await (const item of items) {
          if (summary.received >= maxItems) {
            throw new FacerecError(
              'STREAM_TOO_LONG',
              `BulkIngest takes at most ${maxItems} items per call; the first ${maxItems} were processed (re-sending them is harmless: enrolment is idempotent), send the rest in another call`,
            );
          }
          yield { item, index: summary.received++ };
        }
      };

      // One bad item is reported and the stream goes on; only a cancelled call stops it.
      await forEachConcurrently(indexed(), { depth: options.concurrency ?? 2, signal: context.signal }, async ({ item, index }) => {
        try {
          // The subject id is recorded only where the operator allows it (telemetry.spanSubjectIds).
          const duplicate = await span(SPAN.ingestItem, async () => (await alreadyEnrolled(item)) || (await enrolOne(item, context)).duplicate, {
            [ATTR.ingestIndex]: index,
            [ATTR.subjectId]: item.subjectId,
          });
          if (duplicate) summary.duplicates++;
          else summary.enrolled++;
        } catch (error) {
          if (context.signal.aborted) throw error;
          summary.failed++;
          const status = toServiceError(error, hooks.logger);
          errors.add({
            index,
            subjectId: item.subjectId,
            code: status.code,
            codeName: codeName(status.code),
            message: status.details,
            errorCode: error instanceof FacerecError ? error.code : 'INTERNAL',
          });
        }
      });
      return { ...summary, errors: errors.list(), errorsOmitted: errors.omitted, elapsedMs: performance.now() - started };
    }),
  };
}

/**
 * The errors a summary reports: the first `max` by item index in full, then
 * only a count, so a summary of any stream fits in one small message.
 */
class ItemErrors {
  readonly #kept: ItemError[] = [];
  omitted = 0;
  constructor(private readonly max: number) {}

  add(error: ItemError): void {
    this.#kept.push(error);
    if (this.#kept.length <= this.max) return;
    // Items finish out of order: keep the lowest indexes.
    this.#kept.sort((a, b) => a.index - b.index);
    this.#kept.pop();
    this.omitted++;
  }

  list(): ItemError[] {
    return [...this.#kept].sort((a, b) => a.index - b.index);
  }
}

async function faceExists(store: VectorStore, faceId: string): Promise<boolean> {
  try {
    await store.getFace(faceId);
    return true;
  } catch (error) {
    if (error instanceof FacerecError && error.code === 'FACE_NOT_FOUND') return false;
    throw error;
  }
}
