/**
 * `facerec token [--scope faces:read,faces:write] [--expires 30d] [--subject name]`:
 * mints a bearer token signed with AUTH_SECRET_KEY / AUTH_ALGORITHM for operators.
 */
import { loadConfig } from '../config/load.js';
import { FacerecError } from '../errors.js';
import { ALL_SCOPES, mintToken } from '../server/auth.js';

export async function tokenCommand(argv: readonly string[]): Promise<number> {
  const options: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const match = /^--(scope|expires|subject)(?:=(.*))?$/.exec(arg);
    if (!match) {
      rest.push(arg);
      continue;
    }
    const value = match[2] ?? argv[++i];
    if (value === undefined) throw new FacerecError('INVALID_ARGUMENT', `--${match[1]} needs a value`);
    options[match[1]!] = value;
  }
  const config = loadConfig({ argv: rest });
  if (!config.auth.secretKey) throw new FacerecError('CONFIG_INVALID', 'AUTH_SECRET_KEY must be set to mint a token');
  const scopes = options['scope'] ? options['scope'].split(',').map((s) => s.trim()) : [...ALL_SCOPES];
  const unknown = scopes.filter((s) => !(ALL_SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0) throw new FacerecError('INVALID_ARGUMENT', `unknown scope ${unknown.join(', ')}; known: ${ALL_SCOPES.join(', ')}`);
  const token = await mintToken({
    secret: config.auth.secretKey,
    algorithm: config.auth.algorithm,
    scopes,
    expiresIn: options['expires'] ?? '30d',
    subject: options['subject'],
  });
  process.stdout.write(token + '\n');
  return 0;
}
