import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { embedReason } from './reembed-policy.js';
import { TrackIdentity, weightedTrimmedMean } from './track-identity.js';
import { Tracker } from './tracker.js';

const settings = { iouThreshold: 0.3, maxMissedFrames: 2, reidMinSimilarity: 0.5, maxTracks: 3 };
const box = (x: number, y = 0, size = 100) => ({ box: { x1: x, y1: y, x2: x + size, y2: y + size }, score: 0.9 });
const unit = (...values: number[]) => {
  const norm = Math.hypot(...values);
  return Float32Array.from(values, (v) => v / norm);
};

describe('Tracker', () => {
  it('keeps a moving face on one track and starts another for a new face', () => {
    const tracker = new Tracker(settings);
    const first = tracker.associate([box(0)]);
    assert.deepEqual(first.unmatched, [0]);
    const a = tracker.start(box(0), 0)!;
    tracker.endFrame();
    for (let step = 1; step <= 5; step++) {
      const { matched, unmatched } = tracker.associate([box(20 * step), box(400)]);
      assert.equal(matched.get(0), a, `frame ${step}`);
      if (step === 1) assert.deepEqual(unmatched, [1]);
      a.seen(box(20 * step), step);
      if (step === 1) tracker.start(box(400), step);
      else matched.get(1)!.seen(box(400), step);
      assert.deepEqual(tracker.endFrame(), []);
    }
    assert.equal(a.framesSeen, 6);
    assert.equal(tracker.open.length, 2);
  });

  it('follows a face moving at constant speed further than box overlap would', () => {
    const tracker = new Tracker(settings);
    tracker.associate([box(0)]);
    const a = tracker.start(box(0), 0)!;
    tracker.endFrame();
    // 40 px, then 70 px a frame: the last box and the new one overlap by IoU 0.18, under the
    // threshold, but the box predicted from the last step overlaps it well.
    for (const [step, x] of [[1, 40], [2, 110], [3, 180]] as const) {
      const { matched } = tracker.associate([box(x)]);
      assert.equal(matched.get(0), a, `frame ${step}`);
      a.seen(box(x), step);
      tracker.endFrame();
    }
  });

  it('ends a track after maxMissedFrames unseen frames, and re-identifies a face by embedding before that', () => {
    const tracker = new Tracker(settings);
    tracker.associate([box(0)]);
    const a = tracker.start(box(0), 0)!;
    a.addEmbedding(unit(1, 0, 0));
    tracker.endFrame();
    tracker.associate([]);
    tracker.endFrame();
    // Back, somewhere else: no overlap, but the same embedding.
    const { unmatched } = tracker.associate([box(500)]);
    assert.deepEqual(unmatched, [0]);
    assert.equal(tracker.reidentify(unit(0, 1, 0)), undefined);
    assert.equal(tracker.reidentify(unit(0.9, 0.1, 0)), a);
    a.seen(box(500), 2);
    tracker.endFrame();
    for (let i = 0; i < settings.maxMissedFrames; i++) {
      tracker.associate([]);
      assert.deepEqual(tracker.endFrame(), []);
    }
    tracker.associate([]);
    assert.deepEqual(tracker.endFrame(), [a]);
    assert.equal(tracker.open.length, 0);
  });

  it('starts no more than maxTracks tracks', () => {
    const tracker = new Tracker(settings);
    tracker.associate([box(0), box(200), box(400), box(600)]);
    const started = [0, 200, 400, 600].map((x) => tracker.start(box(x), 0));
    assert.equal(started.filter(Boolean).length, 3);
    assert.equal(started[3], undefined);
  });
});

describe('TrackIdentity', () => {
  it('weighs observations and trims the extremes, so one bad frame does not flip the identity', () => {
    const identity = new TrackIdentity<string>();
    for (const similarity of [0.62, 0.6, 0.64, 0.61]) identity.add({ subjectId: 'ada', similarity, weight: 1, match: 'ada' });
    identity.add({ subjectId: 'bob', similarity: 0.9, weight: 1, match: 'bob' });
    identity.add({ subjectId: 'ada', similarity: 0.05, weight: 1, match: 'ada' });
    const decision = identity.decide(0.46)!;
    assert.equal(decision.subjectId, 'ada');
    assert.ok(decision.similarity > 0.55, String(decision.similarity));
  });

  it('stays unknown while the best-supported subject is below the threshold, but says who is nearest', () => {
    const identity = new TrackIdentity<string>();
    identity.add({ subjectId: 'ada', similarity: 0.3, weight: 2, match: 'ada' });
    identity.add({ subjectId: 'bob', similarity: 0.5, weight: 1, match: 'bob' });
    assert.equal(identity.decide(0.46), undefined);
    assert.deepEqual({ ...identity.nearest()!, similarity: Number(identity.nearest()!.similarity.toFixed(3)) }, { subjectId: 'ada', similarity: 0.3, match: 'ada' });
  });

  it('computes a weighted trimmed mean', () => {
    assert.equal(weightedTrimmedMean([{ value: 0.7, weight: 3 }]), 0.7);
    assert.equal(weightedTrimmedMean([]), undefined);
    // 20% of the weight off each end: the 0 and the 1 go, the middle three stay.
    assert.equal(weightedTrimmedMean([0, 0.4, 0.5, 0.6, 1].map((value) => ({ value, weight: 1 }))), 0.5);
  });
});

describe('embedReason', () => {
  const policy = { everyFrames: 10, growthRatio: 1.3, scoreGain: 0.05 };
  it('embeds a new track, then every N frames, or sooner when the face grows or gets clearer', () => {
    assert.equal(embedReason({ frame: undefined, area: 0, score: 0 }, { area: 100, score: 0.9 }, 1, policy), 'new');
    const last = { frame: 1, area: 100, score: 0.9 };
    assert.equal(embedReason(last, { area: 110, score: 0.91 }, 5, policy), undefined);
    assert.equal(embedReason(last, { area: 100, score: 0.9 }, 11, policy), 'interval');
    assert.equal(embedReason(last, { area: 140, score: 0.9 }, 3, policy), 'grew');
    assert.equal(embedReason(last, { area: 100, score: 0.96 }, 3, policy), 'sharper');
  });
});
