/**
 * Bearer-token auth for the gRPC API: HS256/384/512 JWTs signed with
 * AUTH_SECRET_KEY. Every token must carry `exp` (a token that never expires
 * cannot be revoked short of changing the key); `nbf` is enforced when
 * present, `iss` and `aud` when AUTH_ISSUER / AUTH_AUDIENCE are set. The
 * `scope` claim (space-separated string, or an array) says what a token may do.
 */
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { FacerecError } from '../errors.js';
import { authProblems } from '../config/load.js';
import type { AuthConfig } from '../config/schema.js';

/** faces:review guards the review list: crops of people nobody enrolled are personal data. */
export type Scope = 'faces:read' | 'faces:write' | 'faces:review';
export const ALL_SCOPES: readonly Scope[] = ['faces:read', 'faces:write', 'faces:review'];

/** What each RPC needs; `null` means no token at all (GetInfo and health). */
export const REQUIRED_SCOPE: Readonly<Record<string, Scope | null>> = {
  Recognize: 'faces:read',
  RecognizeUpload: 'faces:read',
  RecognizeStream: 'faces:read',
  Detect: 'faces:read',
  Verify: 'faces:read',
  ListSubjects: 'faces:read',
  GetSubject: 'faces:read',
  GetInfo: null,
  BulkIngest: 'faces:write',
  EnrollFace: 'faces:write',
  UpdateSubject: 'faces:write',
  DeleteSubject: 'faces:write',
  DeleteFace: 'faces:write',
  ListReviewFaces: 'faces:review',
  EnrollReviewFace: 'faces:review',
  DeleteReviewFace: 'faces:review',
  DeleteAllReviewFaces: 'faces:review',
};

export interface Authenticator {
  readonly enabled: boolean;
  /** Throws UNAUTHENTICATED or PERMISSION_DENIED; resolves when allowed. */
  authorize(method: string, authorization: string | undefined): Promise<void>;
}

function keyOf(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

export function scopesOf(claim: unknown): Set<string> {
  if (typeof claim === 'string') return new Set(claim.split(/\s+/).filter(Boolean));
  if (Array.isArray(claim)) return new Set(claim.filter((s): s is string => typeof s === 'string'));
  return new Set();
}

/**
 * Throws CONFIG_INVALID for a config that must not be served (a key too short
 * for its algorithm, or no key while FACEREC_AUTH__REQUIRED is set). loadConfig
 * already refuses these; checking here too keeps a hand-built config from
 * slipping through.
 */
export function createAuthenticator(config: AuthConfig): Authenticator {
  const problems = authProblems(config);
  if (problems.length > 0) throw new FacerecError('CONFIG_INVALID', problems.join('; '), { details: { problems } });
  const secret = config.secretKey;
  if (!secret) return { enabled: false, authorize: async () => {} };
  const key = keyOf(secret);
  const verifyOptions = {
    algorithms: [config.algorithm],
    requiredClaims: ['exp'],
    ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
    ...(config.audience === undefined ? {} : { audience: config.audience }),
  };

  return {
    enabled: true,
    async authorize(method, authorization) {
      const needed = REQUIRED_SCOPE[method];
      if (needed === null) return;
      const match = /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? '');
      if (!match) throw new FacerecError('UNAUTHENTICATED', authorization ? 'authorization must be "Bearer <JWT>"' : 'no authorization metadata');
      let scope: unknown;
      try {
        const { payload } = await jwtVerify(match[1]!, key, verifyOptions);
        scope = payload['scope'];
      } catch (cause) {
        throw new FacerecError('UNAUTHENTICATED', describeJoseError(cause), { cause });
      }
      // Unknown methods are denied rather than let through.
      if (needed === undefined || !scopesOf(scope).has(needed)) {
        throw new FacerecError('PERMISSION_DENIED', `${method} needs scope ${needed ?? '(unknown method)'}`);
      }
    },
  };
}

function describeJoseError(cause: unknown): string {
  if (cause instanceof joseErrors.JWTExpired) return 'token expired';
  if (cause instanceof joseErrors.JWTClaimValidationFailed) {
    if (cause.reason === 'missing') return `token has no "${cause.claim}" claim${cause.claim === 'exp' ? ' (tokens must expire)' : ''}`;
    if (cause.claim === 'iss') return 'token claim "iss" is not the configured AUTH_ISSUER';
    if (cause.claim === 'aud') return 'token claim "aud" does not include the configured AUTH_AUDIENCE';
    return `token claim "${cause.claim}" invalid: ${cause.reason}`;
  }
  if (cause instanceof joseErrors.JOSEAlgNotAllowed) return 'token signed with a different algorithm';
  if (cause instanceof joseErrors.JWSSignatureVerificationFailed) return 'token signature does not verify';
  return 'token is malformed';
}

export interface MintOptions {
  readonly secret: string;
  readonly algorithm?: string;
  readonly scopes?: readonly string[];
  readonly subject?: string;
  /** Lifetime, e.g. "1h", "30d"; jose's duration syntax. */
  readonly expiresIn?: string;
  readonly notBefore?: string | number;
  /** `iss`; servers with AUTH_ISSUER set accept only their own. */
  readonly issuer?: string;
  /** `aud`; servers with AUTH_AUDIENCE set accept only tokens naming it. */
  readonly audience?: string;
}

/** Mints a token for operators (`facerec token`) and tests. */
export async function mintToken(options: MintOptions): Promise<string> {
  const jwt = new SignJWT({ scope: (options.scopes ?? ALL_SCOPES).join(' ') })
    .setProtectedHeader({ alg: options.algorithm ?? 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setSubject(options.subject ?? 'facerec-operator')
    .setExpirationTime(options.expiresIn ?? '1h');
  if (options.notBefore !== undefined) jwt.setNotBefore(options.notBefore);
  if (options.issuer !== undefined) jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt.setAudience(options.audience);
  return jwt.sign(keyOf(options.secret));
}
