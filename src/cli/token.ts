/**
 * `facerec token [--scope faces:read,faces:write] [--expires 30d] [--subject NAME]
 * [--issuer ISS] [--audience AUD]`: prints a bearer token signed with
 * AUTH_SECRET_KEY / AUTH_ALGORITHM. `iss` and `aud` default to AUTH_ISSUER and
 * AUTH_AUDIENCE, so a token minted next to the server passes its checks.
 */
import { FacerecError } from '../errors.js';
import { ALL_SCOPES, mintToken } from '../server/auth.js';
import { parseCommandArgs, UsageError, type CommandContext, type FlagOptions } from './command.js';

export const ownOptions = {
  scope: { type: 'string', valueName: 'scopes', description: `comma-separated scopes (default: all of ${ALL_SCOPES.join(',')})` },
  expires: { type: 'string', valueName: 'duration', description: 'lifetime, e.g. 2h, 30d (default: 30d)' },
  subject: { type: 'string', valueName: 'name', description: 'the `sub` claim: who holds the token (default: none)' },
  issuer: { type: 'string', valueName: 'iss', description: 'the `iss` claim (default: AUTH_ISSUER)' },
  audience: { type: 'string', valueName: 'aud', description: 'the `aud` claim (default: AUTH_AUDIENCE)' },
} as const satisfies FlagOptions;

export async function tokenCommand(args: readonly string[], ctx: CommandContext): Promise<void> {
  const options = parseCommandArgs(args, ownOptions, false).values;
  const secret = ctx.config.auth.secretKey;
  if (!secret) throw new FacerecError('CONFIG_INVALID', 'AUTH_SECRET_KEY must be set to mint a token');
  const scopes = options.scope ? options.scope.split(',').map((s) => s.trim()) : [...ALL_SCOPES];
  const unknown = scopes.filter((s) => !(ALL_SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0) throw new UsageError(`unknown scope ${unknown.join(', ')}; known: ${ALL_SCOPES.join(', ')}`);
  ctx.stdout(
    await mintToken({
      secret,
      algorithm: ctx.config.auth.algorithm,
      scopes,
      expiresIn: options.expires ?? '30d',
      subject: options.subject,
      issuer: options.issuer ?? ctx.config.auth.issuer,
      audience: options.audience ?? ctx.config.auth.audience,
    }),
  );
}
