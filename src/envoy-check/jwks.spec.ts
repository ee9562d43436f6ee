import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importJWK, jwtVerify } from 'jose';
import { checkJwks, jwksFromSecret } from './jwks.js';
import { patchValidateProto } from './envoy-api-registry.js';
import { mintToken } from '../server/auth.js';

// 64 bytes: long enough for HS512, the most demanding of the three.
const secret = 'correct horse battery staple, correct horse battery staple, 0123';

test('a JWKS made from AUTH_SECRET_KEY verifies the tokens the server mints', async () => {
  for (const algorithm of ['HS256', 'HS384', 'HS512']) {
    const jwks = JSON.parse(jwksFromSecret(secret, algorithm));
    assert.deepEqual(checkJwks(JSON.stringify(jwks)), []);
    const token = await mintToken({ secret, algorithm, scopes: ['faces:read'] });
    // jose's JWKS sets take no symmetric keys, so import the one oct key as Envoy would.
    const key = await importJWK(jwks.keys[0], algorithm);
    const { payload } = await jwtVerify(token, key, { algorithms: [algorithm] });
    assert.ok(payload.exp, 'tokens carry exp');
  }
});

test('checkJwks names what is wrong', () => {
  assert.match(checkJwks('nope')[0]!, /not JSON/);
  assert.match(checkJwks('{}')[0]!, /no "keys"/);
  assert.match(checkJwks('{"keys":[{"kty":"oct","k":"a+b/"}]}')[0]!, /base64url/);
  assert.match(checkJwks('{"keys":[{"kty":"oct","k":"abc","alg":"RS256"}]}')[0]!, /not one of HS256/);
  // A key the server would refuse as AUTH_SECRET_KEY (no alg means HS256).
  assert.match(checkJwks(jwksFromSecret('x'.repeat(63), 'HS512'))[0]!, /63 bytes; HS512 needs at least 64/);
  assert.match(checkJwks('{"keys":[{"kty":"oct","k":"c2hvcnQ"}]}')[0]!, /5 bytes; HS256 needs at least 32/);
});

test('validate.proto gets ignore_empty = 26 in StringRules, once', () => {
  const original = 'message StringRules {\n  optional string const = 1;\n}\nmessage BytesRules {\n}\n';
  const patched = patchValidateProto(original);
  assert.match(patched, /message StringRules \{\n[^}]*optional bool ignore_empty = 26;/);
  assert.equal(patchValidateProto(patched), patched);
});
