import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { isFacerecError } from '../errors.js';
import type { AuthConfig } from '../config/schema.js';
import { createAuthenticator, mintToken } from './auth.js';

// 32 bytes or more: the shortest key HS256 accepts.
const secret = 'auth-spec-secret-0123456789abcdef';
const config = (overrides: Partial<AuthConfig> = {}): AuthConfig => ({ secretKey: secret, algorithm: 'HS256', required: false, issuer: undefined, audience: undefined, ...overrides });
const auth = createAuthenticator(config());
const sign = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));

async function rejects(promise: Promise<unknown>, code: 'UNAUTHENTICATED' | 'PERMISSION_DENIED', pattern: RegExp) {
  await assert.rejects(promise, (error: unknown) => isFacerecError(error, code) && pattern.test(error.message));
}

describe('createAuthenticator', () => {
  it('is a no-op without a secret', async () => {
    const open = createAuthenticator(config({ secretKey: undefined }));
    assert.equal(open.enabled, false);
    await open.authorize('DeleteSubject', undefined);
  });

  it('refuses to run without a secret when auth is required', () => {
    assert.throws(() => createAuthenticator(config({ secretKey: undefined, required: true })), (error: unknown) => isFacerecError(error, 'CONFIG_INVALID') && /FACEREC_AUTH__REQUIRED/.test(error.message));
  });

  it('refuses a secret shorter than the hash output, counted in UTF-8 bytes', () => {
    const refused = (secretKey: string, algorithm: string) =>
      assert.throws(() => createAuthenticator(config({ secretKey, algorithm })), (error: unknown) => isFacerecError(error, 'CONFIG_INVALID') && new RegExp(`${algorithm} needs at least`).test(error.message));
    refused('x'.repeat(31), 'HS256');
    refused('x'.repeat(47), 'HS384');
    refused('x'.repeat(63), 'HS512');
    // 16 characters, 32 bytes: "é" is two bytes in UTF-8.
    assert.equal(createAuthenticator(config({ secretKey: 'é'.repeat(16) })).enabled, true);
    assert.equal(createAuthenticator(config({ secretKey: 'x'.repeat(64), algorithm: 'HS512' })).enabled, true);
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
    const other = await mintToken({ secret: 'another-secret-entirely-0123456789' });
    await rejects(auth.authorize('Recognize', `Bearer ${other}`), 'UNAUTHENTICATED', /signature/);
    const hs512 = await mintToken({ secret, algorithm: 'HS512' });
    await rejects(auth.authorize('Recognize', `Bearer ${hs512}`), 'UNAUTHENTICATED', /algorithm/);
  });

  it('refuses a token without exp, even a correctly signed one', async () => {
    await rejects(auth.authorize('Recognize', `Bearer ${await sign({ scope: 'faces:read' })}`), 'UNAUTHENTICATED', /no "exp" claim/);
  });

  it('checks iss and aud when they are configured, and only then', async () => {
    const strict = createAuthenticator(config({ issuer: 'facerec', audience: 'facerec-api' }));
    const good = await mintToken({ secret, scopes: ['faces:read'], issuer: 'facerec', audience: 'facerec-api' });
    await strict.authorize('Recognize', `Bearer ${good}`);
    await auth.authorize('Recognize', `Bearer ${good}`);
    const plain = await mintToken({ secret, scopes: ['faces:read'] });
    await rejects(strict.authorize('Recognize', `Bearer ${plain}`), 'UNAUTHENTICATED', /no "iss" claim/);
    const otherIssuer = await mintToken({ secret, scopes: ['faces:read'], issuer: 'someone-else', audience: 'facerec-api' });
    await rejects(strict.authorize('Recognize', `Bearer ${otherIssuer}`), 'UNAUTHENTICATED', /AUTH_ISSUER/);
    const otherAudience = await mintToken({ secret, scopes: ['faces:read'], issuer: 'facerec', audience: 'another-api' });
    await rejects(strict.authorize('Recognize', `Bearer ${otherAudience}`), 'UNAUTHENTICATED', /AUTH_AUDIENCE/);
  });

  it('denies a token without the needed scope', async () => {
    const reader = await mintToken({ secret, scopes: ['faces:read'] });
    await rejects(auth.authorize('DeleteSubject', `Bearer ${reader}`), 'PERMISSION_DENIED', /faces:write/);
    await rejects(auth.authorize('NoSuchMethod', `Bearer ${reader}`), 'PERMISSION_DENIED', /unknown method/);
  });

  it('keeps the review list (crops of strangers) behind its own scope', async () => {
    const readerWriter = await mintToken({ secret, scopes: ['faces:read', 'faces:write'] });
    const reviewer = await mintToken({ secret, scopes: ['faces:review'] });
    for (const method of ['ListReviewFaces', 'EnrollReviewFace', 'DeleteReviewFace', 'DeleteAllReviewFaces']) {
      await rejects(auth.authorize(method, `Bearer ${readerWriter}`), 'PERMISSION_DENIED', /faces:review/);
      await auth.authorize(method, `Bearer ${reviewer}`);
    }
  });
});
