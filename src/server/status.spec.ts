import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { ERROR_CATALOGUE, FacerecError, type ErrorCode } from '../errors.js';
import { toServiceError } from './status.js';

describe('toServiceError', () => {
  it('maps every catalogue entry to its gRPC status and keeps the message', () => {
    for (const code of Object.keys(ERROR_CATALOGUE) as ErrorCode[]) {
      const error = toServiceError(new FacerecError(code, 'detail'), { error() {} });
      assert.equal(error.code, status[ERROR_CATALOGUE[code].status], code);
      assert.equal(error.details, `${ERROR_CATALOGUE[code].message}: detail`);
      assert.deepEqual(error.metadata?.get('facerec-error-code'), [code]);
    }
  });

  it('asks clients to back off when the queue is full', () => {
    const error = toServiceError(new FacerecError('QUEUE_FULL'));
    assert.equal(error.code, status.RESOURCE_EXHAUSTED);
    assert.deepEqual(error.metadata?.get('retry-after'), ['1']);
  });

  it('hides unexpected errors behind INTERNAL and logs the cause', () => {
    const logged: unknown[] = [];
    const error = toServiceError(new TypeError('secret stack detail'), { error: (...args) => logged.push(args) });
    assert.equal(error.code, status.INTERNAL);
    assert.equal(error.details, 'internal error');
    assert.equal(logged.length, 1);
  });
});
