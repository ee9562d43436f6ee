import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { isFacerecError } from '../errors.js';
import { createAuthenticator, mintToken } from './auth.js';

const secret = 'test-secret-of-reasonable-length';
const auth = createAuthenticator({ secretKey: secret, algorithm: 'HS256' });

async function rejects(promise: Promise<unknown>, code: 'UNAUTHENTICATED' | 'PERMISSION_DENIED', pattern: RegExp) {
  await assert.rejects(promise, (error: unknown) => isFacerecError(error, code) && pattern.test(error.message));
}

describe('createAuthenticator', () => {
  it('is a no-op without a secret', async () => {
    const open = createAuthenticator({ secretKey: undefined, algorithm: 'HS256' });
    assert.equal(open.enabled, false);
    await open.authorize('DeleteSubject', undefined);
  });

  it('lets GetInfo through without a token', async () => {
    await auth.authorize('GetInfo', undefined);
  });

  it('accepts a token with the needed scope', async () => {
    const token = await mintToken({ secret, scopes: ['faces:read'] });
    await auth.authorize('Recognize', `Bearer ${token}`);
  });

  it('rejects missing, malformed, expired, not-yet-valid and wrongly signed tokens', async () => {
    await rejects(auth.authorize('Recognize', undefined), 'UNAUTHENTICATED', /no authorization/);
    await rejects(auth.authorize('Recognize', 'Basic abc'), 'UNAUTHENTICATED', /Bearer/);
    await rejects(auth.authorize('Recognize', 'Bearer not.a.jwt'), 'UNAUTHENTICATED', /malformed/);
    const expired = await new SignJWT({ scope: 'faces:read' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(new TextEncoder().encode(secret));
    await rejects(auth.authorize('Recognize', `Bearer ${expired}`), 'UNAUTHENTICATED', /expired/);
    const early = await mintToken({ secret, notBefore: Math.floor(Date.now() / 1000) + 3600 });
    await rejects(auth.authorize('Recognize', `Bearer ${early}`), 'UNAUTHENTICATED', /nbf/);
    const other = await mintToken({ secret: 'another-secret-entirely' });
    await rejects(auth.authorize('Recognize', `Bearer ${other}`), 'UNAUTHENTICATED', /signature/);
    const hs512 = await mintToken({ secret, algorithm: 'HS512' });
    await rejects(auth.authorize('Recognize', `Bearer ${hs512}`), 'UNAUTHENTICATED', /algorithm/);
  });

  it('denies a token without the needed scope', async () => {
    const reader = await mintToken({ secret, scopes: ['faces:read'] });
    await rejects(auth.authorize('DeleteSubject', `Bearer ${reader}`), 'PERMISSION_DENIED', /faces:write/);
    await rejects(auth.authorize('NoSuchMethod', `Bearer ${reader}`), 'PERMISSION_DENIED', /unknown method/);
  });
});
