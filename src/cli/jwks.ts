/**
 * `facerec jwks`: prints AUTH_SECRET_KEY as the JWKS Envoy's jwt_authn reads
 * (k8s Secret `facerec-envoy-jwks`, key `jwks.json`). It goes through the same
 * loadConfig as the server, so a key the server would refuse is refused here
 * too, rather than ending up in Envoy.
 */
import { FacerecError } from '../errors.js';
import { jwksFromSecret } from '../envoy-check/jwks.js';
import { UsageError, type CommandContext } from './face-commands.js';

export async function jwksCommand(args: readonly string[], ctx: CommandContext): Promise<void> {
  if (args.length > 0) throw new UsageError(`jwks takes no arguments, got ${args.join(' ')}`);
  const secret = ctx.config.auth.secretKey;
  if (!secret) throw new FacerecError('CONFIG_INVALID', 'AUTH_SECRET_KEY must be set to build a JWKS');
  ctx.stdout(jwksFromSecret(secret, ctx.config.auth.algorithm));
}
