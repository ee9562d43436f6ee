/**
 * RecognizeStream: frames in, one result per frame out, in order, plus track
 * events and a final result when the client half-closes. The frame policy
 * (process-all or latest) is read from the first frame; frame-window.ts
 * bounds the frames in flight, stream-session.ts tracks the faces.
 */
import { FacerecError } from '../errors.js';
import { FramePolicy, type Frame, type FrameResult } from '../gen/facerec/v1/facerec.js';
import type { Logger } from '../logger.js';
import type { VectorStore } from '../store/vector-store.js';
import { ATTR, SPAN } from '../telemetry/names.js';
import { bidiStream, type CallHooks } from './call-context.js';
import { processFrames } from './frame-window.js';
import { topKOf } from './reply-limits.js';
import { thresholdOf } from './threshold.js';
import type { FaceAnalyzer, SpanRunner } from './handler-types.js';
import { StreamSession, type FrameRequest, type StreamSettings, type UnknownTrackSink } from './stream-session.js';
import { toServiceError } from './status.js';

export interface RecognizeStreamOptions {
  readonly analyzer: FaceAnalyzer;
  readonly store: VectorStore;
  readonly hooks: CallHooks;
  readonly similarityThreshold: number;
  /** Largest top_k a frame may ask for (`server.maxTopK`). */
  readonly maxTopK: number;
  readonly settings: StreamSettings;
  /** Frames of one stream worked on at once. */
  readonly maxFramesInFlight: number;
  readonly flipAverage: boolean;
  readonly span: SpanRunner;
  readonly keepUnknown?: UnknownTrackSink;
  readonly logger?: Logger;
  /** Metrics: open streams, frames being worked on, processed and skipped frames, faces and embeddings. */
  readonly observe?: StreamObserver;
}

export interface StreamObserver {
  stream?(delta: 1 | -1): void;
  working?(delta: 1 | -1): void;
  frame?(outcome: 'processed' | 'skipped' | 'failed'): void;
  faces?(faces: number, embedded: number): void;
}

/** Answers queued for writing beyond which a stream stops reading, per frame in flight. */
const UNANSWERED_PER_FRAME = 16;


function emptyResult(frame: Frame, timestamp: Date | undefined): FrameResult {
  return { cameraId: frame.cameraId, sequence: frame.sequence, faces: [], error: undefined, latencyMs: 0, skipped: false, events: [], final: false, timestamp };
}

export function createRecognizeStreamHandler(options: RecognizeStreamOptions) {
  const { analyzer, hooks, observe } = options;
  return bidiStream<Frame, FrameResult>('RecognizeStream', hooks, async (frames, write, context) => {
    observe?.stream?.(1);
    // Aborted with the call, and also when the stream fails for another reason (a bad policy, a client not reading).
    const stop = new AbortController();
    const stopWith = (reason: unknown) => stop.abort(reason);
    context.signal.addEventListener('abort', () => stopWith(context.signal.reason), { once: true });
    try {
      const session = new StreamSession({
        faces: {
          detectFrame: (image, signal) => analyzer.detectFrame(image, { signal }),
          describeFaces: (frame, indexes, signal) => analyzer.describeFaces(frame, indexes, { embed: true, flipAverage: options.flipAverage, signal }),
        },
        store: options.store,
        settings: options.settings,
        signal: stop.signal,
        ...(options.logger ? { logger: options.logger } : {}),
        ...(options.keepUnknown ? { keepUnknown: options.keepUnknown } : {}),
        onFaces: (faces, embedded) => observe?.faces?.(faces, embedded),
      });
      let policy: FramePolicy | undefined;
      // Only what the final result names, not the last frame itself (its image can be megabytes).
      let last: Pick<Frame, 'cameraId' | 'sequence'> | undefined;
      const received = new WeakMap<Frame, Date>();
      // Each frame's position in the stream, from 0, in arrival order (the stream.frame span's attribute).
      const arrival = new WeakMap<Frame, number>();
      let arrived = 0;
      // The policy comes from the first frame; another one later is a client bug worth stopping for.
      async function* checked(): AsyncGenerator<Frame> {
        for await (const frame of frames) {
          // A Timestamp past what a Date holds (±8.64e15 ms) decodes as an invalid Date, which no
          // result could carry back: such a frame is stamped with its receive time, as an absent one is.
          const captured = frame.timestamp && Number.isFinite(frame.timestamp.getTime()) ? frame.timestamp : new Date();
          received.set(frame, captured);
          arrival.set(frame, arrived++);
          if (policy === undefined) policy = frame.policy;
          else if (frame.policy !== FramePolicy.FRAME_POLICY_UNSPECIFIED && frame.policy !== policy) {
            throw new FacerecError('INVALID_ARGUMENT', `frame ${frame.sequence} asks for policy ${FramePolicy[frame.policy]} but the stream started with ${FramePolicy[policy]}; the policy is fixed by the first frame`);
          }
          last = { cameraId: frame.cameraId, sequence: frame.sequence };
          yield frame;
        }
      }
      const work = async (frame: Frame): Promise<FrameResult> => {
        const started = performance.now();
        const timestamp = received.get(frame);
        try {
          const request: FrameRequest = {
            image: frame.image,
            cameraId: frame.cameraId,
            sequence: frame.sequence,
            timestampMs: timestamp!.getTime(),
            topK: topKOf(frame.topK, options.maxTopK),
            threshold: thresholdOf(frame.minSimilarity, options.similarityThreshold),
            rankBy: frame.matchFaces ? 'face' : 'subject',
          };
          const { faces, events } = await options.span(SPAN.streamFrame, () => session.frame(request), { [ATTR.streamFrameIndex]: arrival.get(frame) ?? 0 });
          observe?.frame?.('processed');
          return { ...emptyResult(frame, timestamp), faces, events, latencyMs: performance.now() - started };
        } catch (error) {
          // A bad frame is reported in its result; the stream goes on.
          if (stop.signal.aborted) throw error;
          observe?.frame?.('failed');
          const status = toServiceError(error, hooks.logger);
          return { ...emptyResult(frame, timestamp), error: { code: status.code, message: status.details, details: [] }, latencyMs: performance.now() - started };
        }
      };
      const skip = (frame: Frame): FrameResult => {
        observe?.frame?.('skipped');
        return { ...emptyResult(frame, received.get(frame)), skipped: true };
      };
      const depth = Math.max(1, options.maxFramesInFlight);
      await processFrames(
        checked(),
        {
          depth,
          maxUnanswered: depth * UNANSWERED_PER_FRAME,
          signal: context.signal,
          dropOld: () => policy === FramePolicy.FRAME_POLICY_LATEST,
          onStop: stopWith,
          ...(observe?.working ? { onWorking: observe.working } : {}),
        },
        work,
        skip,
        write,
      );
      const events = await session.finish();
      await write({
        cameraId: last?.cameraId ?? '',
        sequence: last?.sequence ?? 0,
        faces: [],
        error: undefined,
        latencyMs: 0,
        skipped: false,
        events,
        final: true,
        timestamp: new Date(),
      });
    } finally {
      observe?.stream?.(-1);
    }
  });
}
