/**
 * `facerec token [--scope faces:read,faces:write] [--expires 30d] [--subject NAME]
 * [--issuer ISS] [--audience AUD]`: prints a bearer token signed with
 * AUTH_SECRET_KEY / AUTH_ALGORITHM. `iss` and `aud` default to AUTH_ISSUER and
 * AUTH_AUDIENCE, so a token minted next to the server passes its checks.
 */
import { parseArgs } from 'node:util';
import { FacerecError } from '../errors.js';
import { ALL_SCOPES, mintToken } from '../server/auth.js';
import { UsageError, type CommandContext } from './face-commands.js';

const TOKEN_OPTIONS = {
  scope: { type: 'string' },
  expires: { type: 'string' },
  subject: { type: 'string' },
  issuer: { type: 'string' },
  audience: { type: 'string' },
} as const;

function parseTokenArgs(args: readonly string[]) {
  try {
    return parseArgs({ args: [...args], options: TOKEN_OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    // parseArgs names the offending flag; the caller adds the usage line.
    throw new UsageError((error as Error).message);
  }
}

export async function tokenCommand(args: readonly string[], ctx: CommandContext): Promise<void> {
  const options = parseTokenArgs(args);
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
