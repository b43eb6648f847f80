// Layer flow: handlers (production wiring, the local stack, tests) -> this module -> Powertools Logger and
// Metrics. Names come from the environment in Lambda (POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE,
// set by the stack); a caller outside Lambda passes them. Nothing here hard-codes a name.
import { Logger } from '@aws-lambda-powertools/logger';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** The logging every use case and adapter does; Powertools' Logger fits (one attributes object per call). */
export interface AppLogger {
  debug(message: string, ...attributes: Record<string, unknown>[]): void;
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
}

/**
 * Metrics that are kept in memory instead of printed as EMF (local runs and tests, where nothing reads
 * stdout for metrics). `published` holds one EMF object per flush.
 */
export class RecordingMetrics extends Metrics {
  readonly published: Array<Record<string, unknown>>;

  constructor(
    options: ConstructorParameters<typeof Metrics>[0] = {},
    published: Array<Record<string, unknown>> = [],
  ) {
    super(options);
    this.published = published;
  }

  override publishStoredMetrics(): this {
    try {
      if (this.hasStoredMetrics()) this.published.push(this.serializeMetrics() as Record<string, unknown>);
    } finally {
      this.clearMetrics();
      this.clearDimensions();
      this.clearMetadata();
    }
    return this;
  }

  /** A single metric (the cold start) goes to the same record. */
  override singleMetric(): Metrics {
    return new RecordingMetrics({ singleMetric: true }, this.published);
  }

  /** The sum of every published value of a metric. */
  total(name: string): number {
    let sum = 0;
    for (const emf of this.published) {
      const value = emf[name];
      for (const item of Array.isArray(value) ? value : [value]) if (typeof item === 'number') sum += item;
    }
    return sum;
  }
}

export interface ObservabilityOptions {
  /** Service name of logs and metrics; default POWERTOOLS_SERVICE_NAME (Powertools reads it). */
  serviceName?: string;
  /** Metrics namespace; default POWERTOOLS_METRICS_NAMESPACE (Powertools reads it). */
  namespace?: string;
  /** Log level; default POWERTOOLS_LOG_LEVEL, else INFO. */
  logLevel?: LogLevel;
  /** Keep metrics in memory (RecordingMetrics) instead of printing them: runs outside Lambda. */
  recordMetrics?: boolean;
}

/** A Logger and a Metrics for one function. Options given here win over the Powertools variables. */
export function createObservability(options: ObservabilityOptions = {}): {
  logger: Logger;
  metrics: Metrics;
} {
  const logger = new Logger({
    ...(options.serviceName ? { serviceName: options.serviceName } : {}),
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
  });
  const metricsOptions = {
    ...(options.serviceName ? { serviceName: options.serviceName } : {}),
    ...(options.namespace ? { namespace: options.namespace } : {}),
    logger,
  };
  const metrics = options.recordMetrics ? new RecordingMetrics(metricsOptions) : new Metrics(metricsOptions);
  return { logger, metrics };
}
