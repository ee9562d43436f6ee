/**
 * `facerec token [--scope faces:read,faces:write] [--expires 30d] [--subject NAME]`:
 * prints a bearer token signed with AUTH_SECRET_KEY / AUTH_ALGORITHM.
 */
import { FacerecError } from '../errors.js';
import { ALL_SCOPES, mintToken } from '../server/auth.js';
import { UsageError, type CommandContext } from './face-commands.js';

export async function tokenCommand(args: readonly string[], ctx: CommandContext): Promise<void> {
  const options: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const match = /^--(scope|expires|subject)(?:=(.*))?$/.exec(args[i]!);
    if (!match) throw new UsageError(`unexpected argument ${args[i]}`);
    const value = match[2] ?? args[++i];
    if (value === undefined) throw new UsageError(`--${match[1]} needs a value`);
    options[match[1]!] = value;
  }
  const secret = ctx.config.auth.secretKey;
  if (!secret) throw new FacerecError('CONFIG_INVALID', 'AUTH_SECRET_KEY must be set to mint a token');
  const scopes = options['scope'] ? options['scope'].split(',').map((s) => s.trim()) : [...ALL_SCOPES];
  const unknown = scopes.filter((s) => !(ALL_SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0) throw new UsageError(`unknown scope ${unknown.join(', ')}; known: ${ALL_SCOPES.join(', ')}`);
  ctx.stdout(await mintToken({ secret, algorithm: ctx.config.auth.algorithm, scopes, expiresIn: options['expires'] ?? '30d', subject: options['subject'] }));
}
