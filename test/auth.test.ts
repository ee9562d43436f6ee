/** JWT auth over a real connection: AUTH_SECRET_KEY set, tokens minted as `facerec token` does. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import { mintToken } from '../src/server/auth.js';
import { bearer, call, startTestServer, type TestServer } from './support/facerec-server.js';
import { photo } from './support/images.js';

const secret = 'auth-test-secret-0123456789';

function rejectsWith(code: status, pattern: RegExp) {
  return (error: unknown) => {
    const e = error as ServiceError;
    assert.equal(e.code, code, `${status[e.code]}: ${e.details}`);
    assert.match(e.details, pattern);
    return true;
  };
}

describe('auth', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ auth: { secretKey: secret, algorithm: 'HS384' } });
  });
  after(() => server.stop());

  const recognize = (metadata = bearer('x')) => call(server.client.recognize, server.client, { image: photo(1), topK: 1, includeEmbedding: false, filter: undefined }, metadata);

  it('lets GetInfo through without a token and says auth is required', async () => {
    const info = await call(server.client.getInfo, server.client, {});
    assert.equal(info.authRequired, true);
  });

  it('rejects a missing or bad token with UNAUTHENTICATED', async () => {
    const { Metadata } = await import('@grpc/grpc-js');
    await assert.rejects(recognize(new Metadata()), rejectsWith(status.UNAUTHENTICATED, /no authorization/));
    await assert.rejects(recognize(bearer('garbage')), rejectsWith(status.UNAUTHENTICATED, /malformed/));
    const wrongAlgorithm = await mintToken({ secret, algorithm: 'HS256' });
    await assert.rejects(recognize(bearer(wrongAlgorithm)), rejectsWith(status.UNAUTHENTICATED, /algorithm/));
    const expired = await mintToken({ secret, algorithm: 'HS384', expiresIn: '-1m' });
    await assert.rejects(recognize(bearer(expired)), rejectsWith(status.UNAUTHENTICATED, /expired/));
  });

  it('checks the scope: faces:read may recognise but not delete', async () => {
    const reader = await mintToken({ secret, algorithm: 'HS384', scopes: ['faces:read'] });
    const response = await recognize(bearer(reader));
    assert.equal(response.faces.length, 3);
    await assert.rejects(call(server.client.deleteSubject, server.client, { subjectId: 'x' }, bearer(reader)), rejectsWith(status.PERMISSION_DENIED, /faces:write/));
    const writer = await mintToken({ secret, algorithm: 'HS384', scopes: ['faces:write'] });
    await assert.rejects(call(server.client.deleteSubject, server.client, { subjectId: 'x' }, bearer(writer)), rejectsWith(status.NOT_FOUND, /subject not found/));
  });
});
