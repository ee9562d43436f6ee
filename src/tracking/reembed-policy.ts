/**
 * When a tracked face is worth another embedding: a pure decision, like the
 * batching policy. Embedding is most of a face's model cost, and a face that
 * stays in view barely changes from one frame to the next, so a track is
 * re-embedded only when there is something new to learn: every N frames, or
 * sooner when the face has grown (the person came closer) or the detector is
 * clearly more confident (a sharper, more frontal face; the detector's score
 * is the cheap stand-in for sharpness, with no pixel work per frame).
 */

export interface ReembedSettings {
  /** Processed frames after which a track is embedded again. */
  readonly everyFrames: number;
  /** Box area, relative to the last embedded one, that counts as grown. */
  readonly growthRatio: number;
  /** Rise in detector score over the last embedded one that counts as sharper. */
  readonly scoreGain: number;
}

export interface EmbeddedSoFar {
  /** Frame index of the track's last embedding; undefined when never embedded. */
  readonly frame: number | undefined;
  readonly area: number;
  readonly score: number;
}

export type EmbedReason = 'new' | 'interval' | 'grew' | 'sharper';

export function embedReason(last: EmbeddedSoFar, face: { area: number; score: number }, frameIndex: number, settings: ReembedSettings): EmbedReason | undefined {
  if (last.frame === undefined) return 'new';
  if (frameIndex - last.frame >= settings.everyFrames) return 'interval';
  if (face.area >= last.area * settings.growthRatio) return 'grew';
  if (face.score >= last.score + settings.scoreGain) return 'sharper';
  return undefined;
}
