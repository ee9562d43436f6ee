/**
 * `facerec serve` (= `npm start`): loads config from env and flags, starts
 * the server, and drains on SIGINT/SIGTERM (in-flight RPCs get
 * server.shutdownGraceMs, queued model work is rejected with UNAVAILABLE).
 */
import { loadConfig } from '../config/load.js';
import { createLogger } from '../logger.js';
import { startFacerec } from '../server/app.js';

export async function serveCommand(argv: readonly string[]): Promise<number> {
  const config = loadConfig({ argv });
  const logger = createLogger(config.telemetry.logLevel);
  const app = await startFacerec(config, { logger });
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info('shutting down', { signal });
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await app.stop();
  return 0;
}
