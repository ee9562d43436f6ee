import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isFacerecError } from '../errors.js';
import { deriveFaceId, sha256Hex, toPointUuid } from './face-id.js';

describe('face ids', () => {
  const hash = sha256Hex('image bytes');

  it('derives the same id for the same subject and image, another for another subject', () => {
    assert.equal(deriveFaceId('emp-1', hash), deriveFaceId('emp-1', hash));
    assert.notEqual(deriveFaceId('emp-1', hash), deriveFaceId('emp-2', hash));
    assert.match(deriveFaceId('emp-1', hash), /^f_[0-9a-f]{32}$/);
  });

  it('refuses a hash that is not sha256 hex', () => {
    assert.throws(() => deriveFaceId('emp-1', 'abc'), (err) => isFacerecError(err, 'INVALID_ARGUMENT'));
  });

  it('maps ids to stable RFC 4122 UUIDs, per namespace', () => {
    const uuid = toPointUuid('face', 'emp-1/photo');
    assert.equal(uuid, toPointUuid('face', 'emp-1/photo'));
    assert.notEqual(uuid, toPointUuid('subject', 'emp-1/photo'));
    assert.match(uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
