/** For tests that check what a component logged: the product's logger, writing into an array. */
import { createLogger, type Logger, type LogLevel } from '../../src/logger.js';

export interface LogEntry {
  readonly level: LogLevel;
  readonly message: string;
  readonly [field: string]: unknown;
}

export interface RecordingLogger {
  readonly logger: Logger;
  readonly entries: LogEntry[];
  /** Messages logged, optionally only those at `level`. */
  messages(level?: LogLevel): string[];
}

export function recordingLogger(): RecordingLogger {
  const entries: LogEntry[] = [];
  const logger = createLogger('debug', (line) => entries.push(JSON.parse(line) as LogEntry));
  return { logger, entries, messages: (level) => entries.filter((e) => level === undefined || e.level === level).map((e) => e.message) };
}
