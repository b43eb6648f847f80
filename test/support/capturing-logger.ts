// Test support: a Powertools Logger that keeps every log line it would print, as the structured record
// Powertools builds (level, message, and the attributes merged in), instead of printing it.
import { Logger, type LogItem } from '@aws-lambda-powertools/logger';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';

export interface CapturedLine {
  level: string;
  message: string;
  attributes: Record<string, unknown>;
}

export class CapturingLogger extends Logger {
  readonly lines: CapturedLine[];

  constructor(options: { logLevel?: LogLevel; serviceName?: string } = {}, lines: CapturedLine[] = []) {
    super({ serviceName: 'test', logLevel: 'DEBUG', ...options });
    this.lines = lines;
  }

  protected override printLog(_logLevel: number, log: LogItem): void {
    log.prepareForPrint();
    const attributes = log.getAttributes() as Record<string, unknown>;
    this.lines.push({ level: String(attributes.level), message: String(attributes.message), attributes });
  }

  /** Child loggers (Powertools creates them for each invocation context) share the same lines. */
  protected override createLogger(): Logger {
    return new CapturingLogger({}, this.lines);
  }
}
