import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, importJWK, jwtVerify } from 'jose';
import { loadConfig } from '../config/load.js';
import { createAuthenticator } from '../server/auth.js';
import { jwksCommand } from './jwks.js';
import { runCli } from './main.js';
import { tokenCommand } from './token.js';
import { UsageError } from './face-commands.js';

const env = { AUTH_SECRET_KEY: 'token-spec-secret-0123456789abcdef', AUTH_ISSUER: 'facerec', AUTH_AUDIENCE: 'facerec-api' };

async function run(command: typeof tokenCommand, args: string[], config = loadConfig({ env })): Promise<string> {
  const out: string[] = [];
  await command(args, { config, stdout: (text) => out.push(text) });
  return out.join('\n');
}

describe('facerec token', () => {
  it('mints a token the configured server accepts: exp, and iss/aud from AUTH_ISSUER/AUTH_AUDIENCE', async () => {
    const token = await run(tokenCommand, ['--scope', 'faces:read', '--expires', '2h']);
    const claims = decodeJwt(token);
    assert.deepEqual([claims.iss, claims.aud, claims.scope], ['facerec', 'facerec-api', 'faces:read']);
    assert.equal(claims.exp! - claims.iat!, 7200);
    await createAuthenticator(loadConfig({ env }).auth).authorize('Recognize', `Bearer ${token}`);
  });

  it('takes --issuer and --audience over the configured ones, and sets none when neither is given', async () => {
    const claims = decodeJwt(await run(tokenCommand, ['--issuer=other', '--audience', 'other-api']));
    assert.deepEqual([claims.iss, claims.aud], ['other', 'other-api']);
    const plain = decodeJwt(await run(tokenCommand, [], loadConfig({ env: { AUTH_SECRET_KEY: env.AUTH_SECRET_KEY } })));
    assert.deepEqual([plain.iss, plain.aud], [undefined, undefined]);
  });

  it('refuses unknown flags and scopes as usage errors', async () => {
    await assert.rejects(run(tokenCommand, ['--scopes', 'faces:read']), (error: unknown) => error instanceof UsageError && /--scopes/.test(error.message));
    await assert.rejects(run(tokenCommand, ['--scope', 'faces:admin']), (error: unknown) => error instanceof UsageError && /unknown scope faces:admin/.test(error.message));
  });
});

describe('facerec jwks', () => {
  it('prints the key as a JWKS that verifies the tokens facerec token mints', async () => {
    const config = loadConfig({ env: { ...env, AUTH_SECRET_KEY: 'k'.repeat(48), AUTH_ALGORITHM: 'HS384' } });
    const jwks = JSON.parse(await run(jwksCommand, [], config));
    assert.equal(jwks.keys[0].alg, 'HS384');
    const token = await run(tokenCommand, [], config);
    const key = await importJWK(jwks.keys[0], 'HS384');
    await jwtVerify(token, key, { issuer: 'facerec', audience: 'facerec-api' });
  });

  it('needs a key', async () => {
    await assert.rejects(run(jwksCommand, [], loadConfig({ env: {} })), /AUTH_SECRET_KEY must be set/);
  });
});

describe('the command line', () => {
  // runCli reads the process environment, as the real command does.
  const saved = { ...process.env };
  before(() => Object.assign(process.env, env));
  after(() => {
    for (const name of Object.keys(env)) delete process.env[name];
    Object.assign(process.env, saved);
  });

  it('passes --issuer/--audience to facerec token, and refuses a short key for token and jwks', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (text: string) => out.push(text), stderr: (text: string) => err.push(text) };
    assert.equal(await runCli(['token', '--issuer', 'cli-issuer', '--audience', 'cli-api'], io), 0, err.join('\n'));
    assert.deepEqual([decodeJwt(out[0]!).iss, decodeJwt(out[0]!).aud], ['cli-issuer', 'cli-api']);
    assert.equal(await runCli(['jwks'], io), 0, err.join('\n'));
    assert.equal(JSON.parse(out[1]!).keys.length, 1);
    process.env['AUTH_SECRET_KEY'] = 'short';
    assert.equal(await runCli(['token'], io), 1);
    assert.equal(await runCli(['jwks'], io), 1);
    assert.match(err.join('\n'), /CONFIG_INVALID: .*AUTH_SECRET_KEY is 5 bytes; HS256 needs at least 32/);
  });
});
