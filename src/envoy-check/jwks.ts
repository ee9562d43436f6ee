/**
 * JWKS for Envoy's jwt_authn, made from the same HMAC secret as the server's
 * AUTH_SECRET_KEY: one `oct` key whose `k` is the secret's UTF-8 bytes in
 * base64url (the server's auth.ts signs with exactly those bytes).
 */
import { MIN_SECRET_BYTES } from '../config/load.js';

const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];

export function jwksFromSecret(secret: string, algorithm = 'HS256'): string {
  return JSON.stringify({ keys: [{ kty: 'oct', alg: algorithm, use: 'sig', k: Buffer.from(secret, 'utf8').toString('base64url') }] });
}

/** Problems with a JWKS document that should hold an HMAC key. */
export function checkJwks(text: string): string[] {
  let jwks: { keys?: Array<Record<string, unknown>> };
  try {
    jwks = JSON.parse(text) as typeof jwks;
  } catch (error) {
    return [`JWKS is not JSON: ${(error as Error).message}`];
  }
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) return ['JWKS has no "keys"'];
  const oct = jwks.keys.filter((k) => k.kty === 'oct');
  if (oct.length === 0) return ['JWKS has no "oct" (HMAC) key'];
  const problems: string[] = [];
  for (const key of oct) {
    if (typeof key.k !== 'string' || !/^[A-Za-z0-9_-]+$/.test(key.k)) problems.push('oct key has no base64url "k"');
    if (key.alg !== undefined && !HMAC_ALGORITHMS.includes(String(key.alg))) problems.push(`oct key alg ${String(key.alg)} is not one of ${HMAC_ALGORITHMS.join('/')}`);
    // The server refuses such a key, so Envoy holding it means the two disagree.
    const minimum = MIN_SECRET_BYTES[String(key.alg ?? 'HS256')];
    const bytes = typeof key.k === 'string' ? Buffer.from(key.k, 'base64url').length : 0;
    if (minimum !== undefined && bytes > 0 && bytes < minimum) problems.push(`oct key is ${bytes} bytes; ${String(key.alg ?? 'HS256')} needs at least ${minimum}`);
  }
  return problems;
}
