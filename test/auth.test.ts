/**
 * JWT auth over a real connection: AUTH_SECRET_KEY set, tokens minted as
 * `facerec token` does; and the start-up side: an open server says so loudly,
 * and a config that must not be served stops the server before it opens anything.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import { tokenCommand } from '../src/cli/token.js';
import { loadConfig } from '../src/config/load.js';
import { isFacerecError } from '../src/errors.js';
import type { Logger } from '../src/logger.js';
import { startFacerec } from '../src/server/app.js';
import { mintToken, type MintOptions } from '../src/server/auth.js';
import { bearer, call, startTestServer, type TestServer } from './support/facerec-server.js';
import { photo } from './support/images.js';

// HS384 needs a key of at least 48 bytes.
const secret = 'auth-test-secret-0123456789abcdef0123456789abcdef';
const issuer = 'facerec-auth-test';
const audience = 'facerec-api';
const mint = (options: Omit<MintOptions, 'secret'> = {}) => mintToken({ secret, algorithm: 'HS384', issuer, audience, ...options });

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
    server = await startTestServer({ auth: { secretKey: secret, algorithm: 'HS384', issuer, audience } });
  });
  after(() => server.stop());

  const recognize = (metadata = bearer('x')) => call(server.client.recognize, server.client, { image: photo(1), topK: 1, includeEmbedding: false, filter: undefined, matchFaces: false }, metadata);

  it('lets GetInfo through without a token and says auth is required', async () => {
    const info = await call(server.client.getInfo, server.client, {});
    assert.equal(info.authRequired, true);
  });

  it('rejects a missing or bad token with UNAUTHENTICATED', async () => {
    await assert.rejects(recognize(new Metadata()), rejectsWith(status.UNAUTHENTICATED, /no authorization/));
    await assert.rejects(recognize(bearer('garbage')), rejectsWith(status.UNAUTHENTICATED, /malformed/));
    const wrongAlgorithm = await mint({ algorithm: 'HS256' });
    await assert.rejects(recognize(bearer(wrongAlgorithm)), rejectsWith(status.UNAUTHENTICATED, /algorithm/));
    const expired = await mint({ expiresIn: '-1m' });
    await assert.rejects(recognize(bearer(expired)), rejectsWith(status.UNAUTHENTICATED, /expired/));
  });

  it('rejects a correctly signed token without exp, or with another iss or aud', async () => {
    const endless = await new SignJWT({ scope: 'faces:read', iss: issuer, aud: audience }).setProtectedHeader({ alg: 'HS384' }).sign(new TextEncoder().encode(secret));
    await assert.rejects(recognize(bearer(endless)), rejectsWith(status.UNAUTHENTICATED, /no "exp" claim/));
    await assert.rejects(recognize(bearer(await mint({ issuer: 'someone-else' }))), rejectsWith(status.UNAUTHENTICATED, /AUTH_ISSUER/));
    await assert.rejects(recognize(bearer(await mint({ audience: 'another-api' }))), rejectsWith(status.UNAUTHENTICATED, /AUTH_AUDIENCE/));
  });

  it('accepts what `facerec token` mints from the same settings (iss and aud by default)', async () => {
    const printed: string[] = [];
    await tokenCommand(['--scope', 'faces:read'], { config: server.config, stdout: (text) => printed.push(text) });
    const response = await recognize(bearer(printed[0]!));
    assert.equal(response.faces.length, 3);
  });

  it('checks the scope: faces:read may recognise but not delete', async () => {
    const reader = await mint({ scopes: ['faces:read'] });
    const response = await recognize(bearer(reader));
    assert.equal(response.faces.length, 3);
    await assert.rejects(call(server.client.deleteSubject, server.client, { subjectId: 'x' }, bearer(reader)), rejectsWith(status.PERMISSION_DENIED, /faces:write/));
    const writer = await mint({ scopes: ['faces:write'] });
    await assert.rejects(call(server.client.deleteSubject, server.client, { subjectId: 'x' }, bearer(writer)), rejectsWith(status.NOT_FOUND, /subject not found/));
  });
});

describe('auth at start-up', () => {
  const configIn = (dataDir: string, env: NodeJS.ProcessEnv = {}) =>
    loadConfig({ env: { FACEREC_HOST: '127.0.0.1', GRPC_PORT: '0', FACEREC_SERVER__REST_ENABLED: 'false', FACEREC_SERVER__METRICS_ENABLED: 'false', DATA_DIR: dataDir, ...env } });

  function recordingLogger(lines: Array<{ level: string; message: string }>): Logger {
    const record = (level: string) => (message: string) => void lines.push({ level, message });
    return { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
  }

  it('warns that every RPC is open when AUTH_SECRET_KEY is unset', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'facerec-auth-off-'));
    const lines: Array<{ level: string; message: string }> = [];
    const app = await startFacerec(configIn(dataDir), { logger: recordingLogger(lines) });
    try {
      const warning = lines.find((line) => line.level === 'warn' && /AUTH IS OFF/.test(line.message));
      assert.ok(warning, `no auth-off warning in ${JSON.stringify(lines)}`);
      assert.match(warning.message, /every RPC is open/);
      assert.match(warning.message, /FACEREC_AUTH__REQUIRED/);
    } finally {
      await app.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('does not start with FACEREC_AUTH__REQUIRED and no key, or with a short key', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'facerec-auth-refused-'));
    try {
      const refused = (pattern: RegExp) => (error: unknown) => isFacerecError(error, 'CONFIG_INVALID') && pattern.test(error.message);
      // How `facerec serve` sees it: loadConfig refuses the environment.
      assert.throws(() => configIn(dataDir, { FACEREC_AUTH__REQUIRED: 'true' }), refused(/AUTH_SECRET_KEY is not set/));
      assert.throws(() => configIn(dataDir, { AUTH_SECRET_KEY: 'too-short-for-hs256' }), refused(/HS256 needs at least 32/));
      // A config assembled without loadConfig is refused by the server itself,
      // before it opens the gallery (DATA_DIR stays empty) or binds a port.
      const base = configIn(dataDir);
      for (const auth of [{ ...base.auth, required: true }, { ...base.auth, secretKey: 'too-short-for-hs256' }]) {
        await assert.rejects(startFacerec({ ...base, auth }, { logger: recordingLogger([]) }), refused(/AUTH_SECRET_KEY/));
      }
      assert.deepEqual(await readdir(dataDir), []);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
