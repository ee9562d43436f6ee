import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFacerecError } from '../errors.js';
import { createAdmission } from './admission.js';

describe('admission', () => {
  it('counts unary calls and streams apart, and refuses beyond each cap with SERVER_BUSY', () => {
    const admission = createAdmission({ maxInflightRequests: 2, maxStreams: 1 });
    const stream = admission.admit('stream');
    assert.throws(() => admission.admit('stream'), (e) => isFacerecError(e, 'SERVER_BUSY') && /1 streams already open/.test(e.message));
    // An open stream takes nothing from unary calls.
    const a = admission.admit('unary');
    const b = admission.admit('unary');
    assert.throws(() => admission.admit('unary'), (e) => isFacerecError(e, 'SERVER_BUSY'));
    a();
    a(); // releasing twice gives back one slot only
    assert.equal(admission.inUse('unary'), 1);
    admission.admit('unary');
    assert.throws(() => admission.admit('unary'));
    b();
    stream();
    assert.equal(admission.inUse('stream'), 0);
  });
});
