/**
 * `facerec serve` (= `npm start`): starts the server on the loaded config and
 * drains on SIGINT/SIGTERM (in-flight RPCs get server.shutdownGraceMs, queued
 * model work is rejected with UNAVAILABLE), then flushes pending spans.
 */
import { createLogger } from '../logger.js';
import { startFacerec } from '../server/app.js';
import { activeTracing } from '../telemetry/index.js';
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
  // The batch span processor holds up to a few seconds of spans; send them before exit.
  await activeTracing()?.shutdown().catch((error: unknown) => logger.warn('trace export on shutdown failed', { error: String(error) }));
}
