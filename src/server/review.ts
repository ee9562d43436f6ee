/**
 * The review list over the API (ListReviewFaces, EnrollReviewFace,
 * DeleteReviewFace, DeleteAllReviewFaces), and the sink RecognizeStream hands
 * its unknown tracks to: the best face of each is cut out as a small JPEG
 * (in libvips, off the event loop) and kept with the track's embedding.
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import sharp from 'sharp';
import { FacerecError } from '../errors.js';
import type {
  DeleteReviewFaceRequest,
  DeleteReviewFacesResponse,
  EnrollFaceResponse,
  EnrollReviewFaceRequest,
  ListReviewFacesRequest,
  ListReviewFacesResponse,
  ReviewFace as ProtoReviewFace,
} from '../gen/facerec/v1/facerec.js';
import type { FaceBox } from '../pipeline/types.js';
import { deriveFaceId, sha256Hex } from '../store/face-id.js';
import type { ReviewFace, ReviewLimits, ReviewStore } from '../store/review-store.js';
import { checkPayload } from '../store/validate.js';
import type { VectorStore } from '../store/vector-store.js';
import { unary, type CallHooks } from './call-context.js';
import type { UnknownTrackSink } from './stream-session.js';

export interface ReviewSettings extends ReviewLimits {
  /** Frames an unknown track must be seen on to be kept. */
  readonly minTrackFrames: number;
  /** Longest side of the kept crop (px). */
  readonly cropSizePx: number;
}

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200;
/** Margin around the face box, as a share of its size on each side: enough to recognise the person by eye. */
const CROP_MARGIN = 0.3;

/** A JPEG of the box (in the upright image's pixels) with a margin, at most `sizePx` on its longest side. */
export async function cropJpeg(image: Uint8Array, box: FaceBox, sizePx: number): Promise<Buffer> {
  const meta = await sharp(image).metadata();
  // EXIF orientations 5..8 turn the picture a quarter: the upright image's sides swap.
  const turned = (meta.orientation ?? 1) >= 5;
  const [width, height] = turned ? [meta.height!, meta.width!] : [meta.width!, meta.height!];
  const [w, h] = [box.x2 - box.x1, box.y2 - box.y1];
  const left = Math.max(0, Math.floor(box.x1 - CROP_MARGIN * w));
  const top = Math.max(0, Math.floor(box.y1 - CROP_MARGIN * h));
  const right = Math.min(width, Math.ceil(box.x2 + CROP_MARGIN * w));
  const bottom = Math.min(height, Math.ceil(box.y2 + CROP_MARGIN * h));
  if (right - left < 1 || bottom - top < 1) throw new FacerecError('INVALID_ARGUMENT', 'the face box lies outside the image');
  return sharp(image)
    .rotate()
    .extract({ left, top, width: right - left, height: bottom - top })
    .resize({ width: sizePx, height: sizePx, fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 85 })
    .toBuffer();
}

export function createUnknownTrackSink(review: ReviewStore, settings: ReviewSettings, onKept?: () => void): UnknownTrackSink {
  return async (track) => {
    if (settings.maxFaces === 0 || track.framesSeen < settings.minTrackFrames) return undefined;
    const crop = await cropJpeg(track.frameImage, track.box, settings.cropSizePx);
    const reviewId = await review.add(
      {
        cameraId: track.cameraId,
        trackId: track.trackId,
        firstSeenMs: track.firstSeenMs,
        lastSeenMs: track.lastSeenMs,
        framesSeen: track.framesSeen,
        crop,
        embedding: track.embedding,
        nearestSubjectId: track.nearest?.subjectId,
        nearestSimilarity: track.nearest?.similarity,
      },
      settings,
    );
    onKept?.();
    return reviewId;
  };
}

function toProto(face: ReviewFace): ProtoReviewFace {
  return {
    reviewId: face.reviewId,
    cameraId: face.cameraId,
    trackId: face.trackId,
    firstSeen: new Date(face.firstSeenMs),
    lastSeen: new Date(face.lastSeenMs),
    framesSeen: face.framesSeen,
    crop: Buffer.from(face.crop),
    nearestSubjectId: face.nearestSubjectId ?? '',
    nearestSimilarity: face.nearestSimilarity ?? 0,
    created: new Date(face.createdAtMs),
  };
}

/** Page tokens name the last entry of the previous page, so a deletion between pages skips nothing. */
const tokenOf = (face: ReviewFace) => Buffer.from(JSON.stringify([face.createdAtMs, face.reviewId])).toString('base64url');

function afterToken(faces: readonly ReviewFace[], token: string): ReviewFace[] {
  if (!token) return [...faces];
  let cursor: [number, string];
  try {
    cursor = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as [number, string];
    if (!Array.isArray(cursor) || typeof cursor[0] !== 'number' || typeof cursor[1] !== 'string') throw new Error('shape');
  } catch {
    throw new FacerecError('INVALID_ARGUMENT', 'page_token is not one this server issued');
  }
  const [ms, id] = cursor;
  // Newest first, ties by id descending (the stores' order).
  return faces.filter((f) => f.createdAtMs < ms || (f.createdAtMs === ms && f.reviewId < id));
}

function required(field: string, value: string): string {
  if (value.length === 0) throw new FacerecError('INVALID_ARGUMENT', `${field} is required`);
  return value;
}

export function createReviewHandlers(options: { review: ReviewStore; store: VectorStore; hooks: CallHooks; settings: ReviewSettings }): UntypedServiceImplementation {
  const { review, store, hooks, settings } = options;
  return {
    listReviewFaces: unary<ListReviewFacesRequest, ListReviewFacesResponse>('ListReviewFaces', hooks, async (request) => {
      if (request.pageSize > MAX_PAGE_SIZE) throw new FacerecError('INVALID_ARGUMENT', `page_size ${request.pageSize} is above the maximum ${MAX_PAGE_SIZE}`);
      const size = request.pageSize || DEFAULT_PAGE_SIZE;
      const all = await review.list(settings);
      const rest = afterToken(all, request.pageToken);
      const page = rest.slice(0, size);
      return { faces: page.map(toProto), nextPageToken: rest.length > size ? tokenOf(page.at(-1)!) : '', totalSize: all.length };
    }),

    enrollReviewFace: unary<EnrollReviewFaceRequest, EnrollFaceResponse>('EnrollReviewFace', hooks, async (request) => {
      const face = await review.get(required('review_id', request.reviewId));
      const subjectId = required('subject_id', request.subjectId);
      const payload = request.payload && Object.keys(request.payload).length > 0 ? checkPayload(request.payload, 'payload') : undefined;
      const imageSha256 = sha256Hex(face.crop);
      const faceId = deriveFaceId(subjectId, imageSha256);
      await store.upsertFaces([
        {
          faceId,
          subjectId,
          embedding: face.embedding,
          imageSha256,
          payload: { source: 'review', camera_id: face.cameraId },
          ...(payload ? { subjectPayload: payload } : {}),
        },
      ]);
      await review.delete(face.reviewId);
      return { subjectId, faceId, duplicate: false, face: undefined };
    }),

    deleteReviewFace: unary<DeleteReviewFaceRequest, DeleteReviewFacesResponse>('DeleteReviewFace', hooks, async (request) => {
      await review.delete(required('review_id', request.reviewId));
      return { deleted: 1 };
    }),

    deleteAllReviewFaces: unary<unknown, DeleteReviewFacesResponse>('DeleteAllReviewFaces', hooks, async () => ({ deleted: await review.deleteAll() })),
  };
}
