/**
 * `facerec serve` (= `npm start`): starts the server on the loaded config and
 * drains on SIGINT/SIGTERM (in-flight RPCs get server.shutdownGraceMs, queued
 * model work is rejected with UNAVAILABLE).
 */
import { createLogger } from '../logger.js';
import { startFacerec } from '../server/app.js';
import { UsageError, type CommandContext } from './face-commands.js';

export async function serveCommand(args: readonly string[], ctx: CommandContext): Promise<void> {
  if (args.length > 0) throw new UsageError(`serve takes no arguments, got ${args.join(' ')}`);
  const logger = createLogger(ctx.config.telemetry.logLevel);
  const app = await startFacerec(ctx.config, { logger });
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  logger.info('shutting down', { signal });
  await app.stop();
}
