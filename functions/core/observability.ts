// Layer flow: handlers (production wiring, the local stack, tests) -> this module -> Powertools Logger,
// Metrics and Tracer. Names come from the environment in Lambda (POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE,
// set by the stack); a caller outside Lambda passes them. Nothing here hard-codes a name.
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';

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
  /** X-Ray tracing; default POWERTOOLS_TRACE_ENABLED (Powertools reads it; it is off outside Lambda). */
  tracing?: boolean;
}

/**
 * A Logger, a Metrics and a Tracer for one function. Options given here win over the Powertools variables.
 * The Tracer records the handler, every AWS SDK client it is given (captureAWSv3Client) and the HTTP calls
 * made with fetch (the Product-Live API, file downloads) as X-Ray subsegments.
 */
export function createObservability(options: ObservabilityOptions = {}): {
  logger: Logger;
  metrics: Metrics;
  tracer: Tracer;
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
  const tracer = new Tracer({
    ...(options.serviceName ? { serviceName: options.serviceName } : {}),
    ...(options.tracing !== undefined ? { enabled: options.tracing } : {}),
  });
  return { logger, metrics, tracer };
}

/** What a function's handler reports through: its logs, its metrics and, in Lambda, its traces. */
export interface HandlerObservability {
  logger: Logger;
  metrics: Metrics;
  /** Absent or disabled outside Lambda (the local stack, tests, benchmarks). */
  tracer?: Tracer;
}

/**
 * A function's handler inside the middleware every function runs: the invocation as an X-Ray segment (its
 * response is not recorded: it may carry job input), the Lambda context on every log line, metrics flushed
 * once per invocation with a cold-start metric.
 */
export function observedHandler<TEvent, TResult>(
  handler: (event: TEvent, context: Context) => Promise<TResult>,
  observability: HandlerObservability,
) {
  const chain = middy<TEvent, TResult>(handler);
  if (observability.tracer) chain.use(captureLambdaHandler(observability.tracer, { captureResponse: false }));
  return chain
    .use(injectLambdaContext(observability.logger, { resetKeys: true }))
    .use(logMetrics(observability.metrics, { captureColdStartMetric: true }));
}
