/**
 * `facerec serve` (= `npm start`): starts the server on the loaded config and
 * drains on SIGINT/SIGTERM (in-flight RPCs get server.shutdownGraceMs, queued
 * model work is rejected with UNAVAILABLE), then flushes pending spans.
 */
import { isFacerecError } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import { describeCause } from '../server/status.js';
import { startFacerec } from '../server/app.js';
import { activeTracing } from '../telemetry/index.js';
import { UsageError, type CommandContext } from './face-commands.js';

export async function serveCommand(args: readonly string[], ctx: CommandContext): Promise<void> {
  if (args.length > 0) throw new UsageError(`serve takes no arguments, got ${args.join(' ')}`);
  const logger = createLogger(ctx.config.telemetry.logLevel);
  watchForStrayFailures(logger);
  let app;
  try {
    app = await startFacerec(ctx.config, { logger });
  } catch (error) {
    // The log is what an operator (or kubectl logs) sees of a pod that will not start.
    logger.error('facerec failed to start', describeFatal(error));
    throw error;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  logger.info('shutting down', { signal });
  await app.stop();
  // The batch span processor holds up to a few seconds of spans; send them before exit.
  await activeTracing()?.shutdown().catch((error: unknown) => logger.warn('trace export on shutdown failed', { error: String(error) }));
}

function describeFatal(error: unknown): Record<string, unknown> {
  if (isFacerecError(error)) return { code: error.code, error: error.message, cause: describeCause(error.cause) };
  return { error: describeCause(error) };
}

/**
 * A promise rejection nobody handled is a bug, but one a client may have
 * triggered: log it loudly and keep serving every other client rather than
 * let Node end the process. An uncaught exception leaves state unknown, so
 * it is logged and the process exits for the supervisor to restart it.
 */
function watchForStrayFailures(logger: Logger): void {
  process.on('unhandledRejection', (reason) => logger.error('unhandled promise rejection (a bug; the server keeps serving)', { cause: describeCause(reason) }));
  process.on('uncaughtException', (error) => {
    logger.error('uncaught exception; exiting', { cause: describeCause(error) });
    process.exit(70);
  });
}
