/**
 * Face tracks across the frames of one stream, SORT-style: each open track
 * predicts where its face is now (last box moved by its last step, a
 * constant-velocity guess), detections are matched to predictions greedily by
 * box overlap (IoU), highest first, and a detection no prediction takes is
 * compared by embedding with the tracks that went unmatched (a face that
 * moved too far in one step, or was hidden for a few frames), as DeepSORT and
 * ByteTrack re-associate lost tracks. Whatever is still left starts a track.
 * A track unseen for more than `maxMissedFrames` processed frames ends; the
 * person coming back later gets a new one.
 *
 * Nothing here runs a model or knows gRPC: the caller passes boxes and
 * embeddings in and reads the tracks back.
 */
import { iou } from '../pipeline/nms.js';
import type { FaceBox } from '../pipeline/types.js';
import { TrackIdentity } from './track-identity.js';

export interface TrackerSettings {
  /** Lowest IoU between a track's predicted box and a detection that still counts as the same face. */
  readonly iouThreshold: number;
  /** Processed frames a track may go unseen before it ends. */
  readonly maxMissedFrames: number;
  /** Lowest cosine similarity to a track's embedding that re-associates a detection IoU could not place. */
  readonly reidMinSimilarity: number;
  /** Open tracks per stream; faces beyond it are reported untracked (track id 0). */
  readonly maxTracks: number;
}

export interface TrackedDetection {
  readonly box: FaceBox;
  readonly score: number;
}

/** What a track knows; the stream session reads it and updates the embedding bookkeeping. */
export class Track<M = unknown> {
  box: FaceBox;
  score: number;
  #step = { dx: 0, dy: 0 };
  framesSeen = 1;
  missed = 0;
  lastSeenMs: number;
  /** Normalised mean of the track's embeddings (for re-association). */
  embedding: Float32Array | undefined;
  #embeddings = 0;
  /** Frame, area and score of the last embedding (reembed-policy.ts). */
  lastEmbedded: { frame: number | undefined; area: number; score: number } = { frame: undefined, area: 0, score: 0 };
  readonly identity = new TrackIdentity<M>();

  constructor(
    readonly id: number,
    detection: TrackedDetection,
    readonly firstSeenMs: number,
  ) {
    this.box = detection.box;
    this.score = detection.score;
    this.lastSeenMs = firstSeenMs;
  }

  /** Where the face should be now: the last box moved by the last step once per frame since. */
  predicted(): FaceBox {
    const steps = this.missed + 1;
    const { dx, dy } = this.#step;
    return { x1: this.box.x1 + dx * steps, y1: this.box.y1 + dy * steps, x2: this.box.x2 + dx * steps, y2: this.box.y2 + dy * steps };
  }

  seen(detection: TrackedDetection, nowMs: number): void {
    const steps = this.missed + 1;
    const centre = (b: FaceBox) => ({ x: (b.x1 + b.x2) / 2, y: (b.y1 + b.y2) / 2 });
    const [before, after] = [centre(this.box), centre(detection.box)];
    this.#step = { dx: (after.x - before.x) / steps, dy: (after.y - before.y) / steps };
    this.box = detection.box;
    this.score = detection.score;
    this.framesSeen++;
    this.missed = 0;
    this.lastSeenMs = nowMs;
  }

  /** Folds an L2-normalised embedding into the track's mean. */
  addEmbedding(embedding: Float32Array): void {
    const n = this.#embeddings++;
    const mean = this.embedding ? Float32Array.from(this.embedding, (v, i) => v * n + embedding[i]!) : Float32Array.from(embedding);
    let norm = 0;
    for (const v of mean) norm += v * v;
    norm = Math.sqrt(norm) || 1;
    this.embedding = mean.map((v) => v / norm);
  }
}

export interface Association<M> {
  /** Detection index → the track it continues. */
  readonly matched: Map<number, Track<M>>;
  /** Detection indexes no track took by overlap. */
  readonly unmatched: number[];
}

export class Tracker<M = unknown> {
  readonly #tracks: Track<M>[] = [];
  #nextId = 1;
  #frame = 0;
  /** Tracks matched or started on the current frame. */
  #current = new Set<Track<M>>();

  constructor(readonly settings: TrackerSettings) {}

  /** Index of the frame being processed (from 1). */
  get frameIndex(): number {
    return this.#frame;
  }

  get open(): readonly Track<M>[] {
    return this.#tracks;
  }

  /** Starts a frame and matches its detections to open tracks by predicted-box overlap. */
  associate(detections: readonly TrackedDetection[]): Association<M> {
    this.#frame++;
    this.#current = new Set();
    const pairs: Array<{ overlap: number; track: Track<M>; index: number }> = [];
    for (const track of this.#tracks) {
      const predicted = track.predicted();
      detections.forEach((d, index) => {
        // The last box too: a face that stopped moving is not where its old step says.
        const overlap = Math.max(iou(predicted, d.box), iou(track.box, d.box));
        if (overlap >= this.settings.iouThreshold) pairs.push({ overlap, track, index });
      });
    }
    pairs.sort((a, b) => b.overlap - a.overlap);
    const matched = new Map<number, Track<M>>();
    for (const { track, index } of pairs) {
      if (matched.has(index) || this.#current.has(track)) continue;
      matched.set(index, track);
      this.#current.add(track);
    }
    const unmatched = detections.map((_, i) => i).filter((i) => !matched.has(i));
    return { matched, unmatched };
  }

  /** The unmatched open track whose embedding is nearest this one, if near enough; it is then taken for this frame. */
  reidentify(embedding: Float32Array): Track<M> | undefined {
    let best: { track: Track<M>; similarity: number } | undefined;
    for (const track of this.#tracks) {
      if (this.#current.has(track) || !track.embedding) continue;
      let similarity = 0;
      for (let i = 0; i < embedding.length; i++) similarity += embedding[i]! * track.embedding[i]!;
      if (similarity >= this.settings.reidMinSimilarity && (!best || similarity > best.similarity)) best = { track, similarity };
    }
    if (best) this.#current.add(best.track);
    return best?.track;
  }

  /** A new track for this detection; undefined when `maxTracks` are open. */
  start(detection: TrackedDetection, nowMs: number): Track<M> | undefined {
    if (this.#tracks.length >= this.settings.maxTracks) return undefined;
    const track = new Track<M>(this.#nextId++, detection, nowMs);
    this.#tracks.push(track);
    this.#current.add(track);
    return track;
  }

  /** Ends the frame: tracks not seen on it miss one more; those past `maxMissedFrames` are closed and returned. */
  endFrame(): Track<M>[] {
    const ended: Track<M>[] = [];
    for (const track of this.#tracks.slice()) {
      if (this.#current.has(track)) continue;
      track.missed++;
      if (track.missed > this.settings.maxMissedFrames) ended.push(track);
    }
    for (const track of ended) this.#tracks.splice(this.#tracks.indexOf(track), 1);
    return ended;
  }

  /** Closes every open track (the stream ended), oldest first. */
  endAll(): Track<M>[] {
    return this.#tracks.splice(0);
  }
}
