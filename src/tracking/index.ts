export { Track, Tracker, type Association, type TrackedDetection, type TrackerSettings } from './tracker.js';
export { TrackIdentity, weightedTrimmedMean, MAX_OBSERVATIONS, TRIM_FRACTION, type IdentityDecision, type IdentityObservation } from './track-identity.js';
export { embedReason, type EmbedReason, type EmbeddedSoFar, type ReembedSettings } from './reembed-policy.js';
