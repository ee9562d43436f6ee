import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openSetReport, thresholdForFpir, type LabelledEmbedding } from './open-set.js';

/** A unit vector in 3-d at angle `degrees` in the xy-plane. */
function at(degrees: number): Float32Array {
  const r = (degrees * Math.PI) / 180;
  return new Float32Array([Math.cos(r), Math.sin(r), 0]);
}

describe('open-set figures', () => {
  it('picks the lowest threshold that lets at most the target share of non-mated probes through', () => {
    const scores = Array.from({ length: 100 }, (_, i) => i / 100);
    assert.ok(Math.abs(thresholdForFpir(scores, 0.01) - 0.98) < 1e-3); // only 0.99 passes
    assert.ok(Math.abs(thresholdForFpir(scores, 0.05) - 0.94) < 1e-3);
    assert.equal(thresholdForFpir(scores, 1), -Infinity);
  });

  it('a template between two enrolled photos catches a probe that neither photo alone reaches', () => {
    // Subject a: photos at 0° and 60°, probe at 30°. Subject b: photos at 100°, 160°, probe at 130°.
    const items: LabelledEmbedding[] = [
      { subject: 'a', embedding: at(0) },
      { subject: 'a', embedding: at(60) },
      { subject: 'a', embedding: at(30) },
      { subject: 'b', embedding: at(100) },
      { subject: 'b', embedding: at(160) },
      { subject: 'b', embedding: at(130) },
    ];
    const threshold = 0.95; // cos 30° = 0.866 misses, cos 0° = 1 passes
    const best = openSetReport(items, { photosPerSubject: 2, templates: false, fpirTargets: [0.5], threshold });
    const template = openSetReport(items, { photosPerSubject: 2, templates: true, fpirTargets: [0.5], threshold });
    assert.equal(best.enrolledSubjects, 2);
    assert.equal(best.matedProbes, 2);
    assert.equal(best.nonMatedProbes, 6);
    assert.equal(best.rankOne, 1);
    assert.equal(best.atThreshold.dir, 0);
    assert.equal(template.atThreshold.dir, 1);
    assert.equal(template.atThreshold.fpir, 0);
  });

  it('matches probes by their probe embedding against what enrolling stored (flip-averaged enrolment)', () => {
    // a's first photo is enrolled as 30° (its probe embedding is 0°); a's second photo would read as b (100°) if it were enrolled.
    const items: LabelledEmbedding[] = [
      { subject: 'a', embedding: at(0), enrolledEmbedding: at(30) },
      { subject: 'a', embedding: at(30), enrolledEmbedding: at(100) },
      { subject: 'b', embedding: at(100) },
      { subject: 'b', embedding: at(160) },
    ];
    const report = openSetReport(items, { photosPerSubject: 1, templates: false, fpirTargets: [0.5], threshold: 0.95 });
    assert.equal(report.atThreshold.dir, 0.5, "a's probe meets the stored 30°, b's probe at 160° misses 100°");
    assert.equal(report.atThreshold.fpir, 0, 'no probe is matched by an embedding only enrolment stores');
  });
});
