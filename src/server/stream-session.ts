/**
 * One RecognizeStream's state: its tracks and what each frame does to them.
 *
 * A frame is decoded and searched for faces as soon as it arrives (several
 * frames at once, so the detector batches them), but the tracking step runs
 * one frame at a time, in order, because each frame's associations depend on
 * the tracks the previous one left. In that step only the faces that need it
 * get landmarks and an embedding (a new track, or one due by
 * `tracking/reembed-policy.ts`); the others carry their track's identity.
 */
import type { Face, Match, TrackEvent } from '../gen/facerec/v1/facerec.js';
import { TrackEventType } from '../gen/facerec/v1/facerec.js';
import type { DetectedFrame } from '../pipeline/pipeline.js';
import { boxHeight, boxWidth, type DetectedFace, type FaceBox } from '../pipeline/types.js';
import type { Logger } from '../logger.js';
import type { SearchMatch, VectorStore } from '../store/vector-store.js';
import { embedReason, Tracker, type ReembedSettings, type Track, type TrackerSettings } from '../tracking/index.js';
import { toProtoMatch } from './convert.js';
import { planMatches } from './reply-limits.js';

export interface StreamSettings extends TrackerSettings {
  readonly reembed: ReembedSettings;
}

/** What a finished, never-identified track leaves for the review list. */
export interface UnknownTrack {
  readonly cameraId: string;
  readonly trackId: number;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly framesSeen: number;
  readonly embedding: Float32Array;
  /** The frame the track's best face was on, as sent, and where the face is in it. */
  readonly frameImage: Uint8Array;
  readonly box: FaceBox;
  /** The best-supported subject and its similarity, below the threshold. */
  readonly nearest: { subjectId: string; similarity: number } | undefined;
}

/** Keeps an unknown track for review; resolves with its review id, or undefined when not kept. */
export type UnknownTrackSink = (track: UnknownTrack) => Promise<string | undefined>;

export interface StreamFaceWork {
  detectFrame(image: Uint8Array, signal: AbortSignal): Promise<DetectedFrame>;
  describeFaces(frame: DetectedFrame, indexes: readonly number[], signal: AbortSignal): Promise<DetectedFace[]>;
}

export interface StreamSessionOptions {
  readonly faces: StreamFaceWork;
  readonly store: Pick<VectorStore, 'search'>;
  readonly settings: StreamSettings;
  readonly signal: AbortSignal;
  readonly logger?: Logger;
  readonly keepUnknown?: UnknownTrackSink;
  /** Faces seen and faces embedded on each processed frame (the embeddings-per-face-frame metric). */
  readonly onFaces?: (faces: number, embedded: number) => void;
}

export interface FrameRequest {
  readonly image: Uint8Array;
  readonly cameraId: string;
  readonly sequence: number;
  readonly timestampMs: number;
  readonly topK: number;
  readonly threshold: number;
  readonly rankBy: 'face' | 'subject';
}

/** Per-track notes the session keeps beside the tracker's own. */
interface TrackNotes {
  announced: string | undefined;
  best: { quality: number; embedding: Float32Array; frameImage: Uint8Array | undefined; box: FaceBox } | undefined;
}

const area = (box: FaceBox) => Math.max(0, boxWidth(box)) * Math.max(0, boxHeight(box));

export class StreamSession {
  readonly #tracker: Tracker<SearchMatch>;
  readonly #notes = new Map<Track<SearchMatch>, TrackNotes>();
  #steps: Promise<unknown> = Promise.resolve();
  #cameraId = '';
  #threshold = 0;

  constructor(private readonly options: StreamSessionOptions) {
    this.#tracker = new Tracker(options.settings);
  }

  /** Detects at once; tracks after every earlier frame has been tracked. Rejects only with a bad image or a failed model. */
  frame(request: FrameRequest): Promise<{ faces: Face[]; events: TrackEvent[] }> {
    const detected = this.options.faces.detectFrame(request.image, this.options.signal);
    // A failed detection fails this frame only; the next frame's step still runs.
    const step = this.#steps.then(async () => this.#track(request, await detected));
    this.#steps = step.catch(() => {});
    detected.catch(() => {});
    return step;
  }

  /** Ends every open track (the client half-closed): the final result's events. */
  async finish(): Promise<TrackEvent[]> {
    await this.#steps;
    const events: TrackEvent[] = [];
    for (const track of this.#tracker.endAll()) events.push(await this.#ended(track));
    return events;
  }

  async #track(request: FrameRequest, frame: DetectedFrame): Promise<{ faces: Face[]; events: TrackEvent[] }> {
    const { faces: work, store, settings, signal } = this.options;
    this.#cameraId = request.cameraId;
    this.#threshold = request.threshold;
    const detections = frame.detections;
    const association = this.#tracker.associate(detections);
    const frameIndex = this.#tracker.frameIndex;
    const toEmbed = new Set(association.unmatched);
    for (const [index, track] of association.matched) {
      const detection = detections[index]!;
      if (embedReason(track.lastEmbedded, { area: area(detection.box), score: detection.score }, frameIndex, settings.reembed)) toEmbed.add(index);
    }
    const chosen = [...toEmbed].sort((a, b) => a - b);
    const described = await work.describeFaces(frame, chosen, signal);
    const faceAt = new Map(chosen.map((index, i) => [index, described[i]!] as const));

    const events: TrackEvent[] = [];
    const trackAt = new Map<number, Track<SearchMatch>>();
    detections.forEach((detection, index) => {
      let track = association.matched.get(index);
      const embedding = faceAt.get(index)?.embedding;
      if (!track && embedding) track = this.#tracker.reidentify(embedding);
      if (track) track.seen(detection, request.timestampMs);
      else {
        track = this.#tracker.start(detection, request.timestampMs);
        if (track) {
          this.#notes.set(track, { announced: undefined, best: undefined });
          events.push(event(TrackEventType.TRACK_EVENT_TYPE_STARTED, track.id, { box: { ...detection.box } }));
        }
      }
      if (track) trackAt.set(index, track);
    });

    const embeddedFaces = [...faceAt.values()].filter((face) => face.embedding);
    const plan = planMatches(embeddedFaces, request.topK);
    const faces: Face[] = [];
    let embeddedCount = 0;
    for (const [index, detection] of detections.entries()) {
      const track = trackAt.get(index);
      const described = faceAt.get(index);
      const embedding = described?.embedding;
      let matches: Match[] = [];
      if (embedding) {
        embeddedCount++;
        // No floor here: the track's evidence needs the nearest subject even when it is below the threshold.
        const found = plan.searched.has(described) ? await store.search(embedding, { k: plan.matchesPerFace, rankBy: request.rankBy }) : [];
        matches = found.filter((m) => m.similarity >= request.threshold).map(toProtoMatch);
        if (track) this.#learn(track, detection, described, found[0], request, events);
      } else if (track) {
        const identity = track.identity.decide(request.threshold);
        if (identity) matches = [toProtoMatch({ ...identity.match, similarity: identity.similarity })];
      }
      faces.push({
        box: { ...detection.box },
        score: detection.score,
        landmarks: (described?.landmarks ?? []).map(({ x, y }) => ({ x, y })),
        matches,
        embedding: [],
        embedded: embedding !== undefined,
        trackId: track?.id ?? 0,
      });
    }
    this.options.onFaces?.(detections.length, embeddedCount);
    for (const track of this.#tracker.endFrame()) events.push(await this.#ended(track));
    return { faces, events };
  }

  /** One embedding of a track: its evidence, its best face so far, and an IDENTIFIED event when the decision changes. */
  #learn(track: Track<SearchMatch>, detection: { box: FaceBox; score: number }, face: DetectedFace, nearest: SearchMatch | undefined, request: FrameRequest, events: TrackEvent[]): void {
    const notes = this.#notes.get(track)!;
    const weight = area(detection.box) * detection.score;
    track.addEmbedding(face.embedding!);
    track.lastEmbedded = { frame: this.#tracker.frameIndex, area: area(detection.box), score: detection.score };
    if (nearest) track.identity.add({ subjectId: nearest.subjectId, similarity: nearest.similarity, weight, match: nearest });
    const decision = track.identity.decide(request.threshold);
    if (decision && decision.subjectId !== notes.announced) {
      notes.announced = decision.subjectId;
      // An identified track needs no review crop: let the frame go.
      notes.best = undefined;
      events.push(event(TrackEventType.TRACK_EVENT_TYPE_IDENTIFIED, track.id, { box: { ...detection.box }, identity: toProtoMatch({ ...decision.match, similarity: decision.similarity }) }));
    }
    // The best frame of an unknown face is held only where the review list will take it.
    if (this.options.keepUnknown && notes.announced === undefined && (!notes.best || weight > notes.best.quality)) {
      notes.best = { quality: weight, embedding: face.embedding!, frameImage: request.image, box: detection.box };
    }
  }

  async #ended(track: Track<SearchMatch>): Promise<TrackEvent> {
    const notes = this.#notes.get(track);
    this.#notes.delete(track);
    const decision = track.identity.decide(this.#threshold);
    let reviewId = '';
    const best = notes?.best;
    if (!decision && best?.frameImage && this.options.keepUnknown) {
      const nearest = track.identity.nearest();
      try {
        reviewId =
          (await this.options.keepUnknown({
            cameraId: this.#cameraId,
            trackId: track.id,
            firstSeenMs: track.firstSeenMs,
            lastSeenMs: track.lastSeenMs,
            framesSeen: track.framesSeen,
            embedding: track.embedding ?? best.embedding,
            frameImage: best.frameImage,
            box: best.box,
            nearest: nearest ? { subjectId: nearest.subjectId, similarity: nearest.similarity } : undefined,
          })) ?? '';
      } catch (error) {
        // The stream's answers matter more than the review list: log and go on.
        this.options.logger?.warn('stream: an unknown face could not be kept for review', { trackId: track.id, error: String(error) });
      }
    }
    return event(TrackEventType.TRACK_EVENT_TYPE_ENDED, track.id, {
      box: { ...track.box },
      ...(decision ? { identity: toProtoMatch({ ...decision.match, similarity: decision.similarity }) } : {}),
      framesSeen: track.framesSeen,
      firstSeen: new Date(track.firstSeenMs),
      lastSeen: new Date(track.lastSeenMs),
      reviewId,
    });
  }
}

function event(type: TrackEventType, trackId: number, fields: Partial<TrackEvent>): TrackEvent {
  return { type, trackId, box: undefined, identity: undefined, framesSeen: 0, firstSeen: undefined, lastSeen: undefined, reviewId: '', ...fields };
}

