// Layer flow: each service construct -> this construct -> a Lambda function of the registry
// (functions/core/function-registry.ts), built the same way for every one: Node.js 22 on arm64, bundled locally by
// esbuild (ESM, source maps; no Docker), its own role, a log group with retention, its configuration's variables.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { FUNCTIONS, type FunctionName } from '#core/function-registry';
import { functionEnvironment, type InfraConfig } from '../config';
import { acknowledgeTracingWildcard } from '../nag';
import { BUNDLING } from './bundling-settings';

/** The repository root: entries, the lockfile and tsconfig.json are resolved from it. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** CloudWatch namespace of the functions' Powertools metrics. */
export const METRICS_NAMESPACE = 'ProductLiveSync';

export interface ProjectFunctionProps {
  /** The function's entry in functions/core/function-registry.ts: its handler file, description and service name. */
  readonly name: FunctionName;
  /**
   * The deployment's configuration: the variables its context keys set for this function, the log retention, and
   * active X-Ray tracing (the context key `tracing`; the Powertools Tracer follows POWERTOOLS_TRACE_ENABLED, which
   * the same key sets).
   */
  readonly config: InfraConfig;
  readonly timeout: Duration;
  readonly memorySize: number;
  /**
   * The function's own variables besides the configuration's: the resources it reaches (tables, buckets, queues,
   * the secret). The Powertools names are added.
   */
  readonly environment?: Record<string, string>;
  readonly reservedConcurrentExecutions?: number;
}

export class ProjectFunction extends Construct {
  readonly function: NodejsFunction;
  /** The execution role: only the log group is granted here; the stack grants the rest, statement by statement. */
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: ProjectFunctionProps) {
    super(scope, id);
    const { name, config } = props;
    const { entry, description } = FUNCTIONS[name];

    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: config.logRetention,
      // The stateless stack can be deleted and redeployed at will; the data lives in the stateful stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${description}`,
    });
    // Instead of AWSLambdaBasicExecutionRole (logs:* on every log group): write to this log group only.
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: join(PROJECT_ROOT, entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      timeout: props.timeout,
      memorySize: props.memorySize,
      role: this.role,
      logGroup: this.logGroup,
      tracing: config.tracing ? Tracing.ACTIVE : Tracing.DISABLED,
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      environment: {
        ...functionEnvironment(name, config),
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: name,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        // Stack traces point into the TypeScript sources through the bundled source map.
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        format: OutputFormat.ESM,
        target: BUNDLING.target,
        platform: BUNDLING.platform,
        mainFields: [...BUNDLING.mainFields],
        minify: BUNDLING.minify,
        keepNames: BUNDLING.keepNames,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        // Bundle the AWS SDK versions the code is tested with, rather than the runtime's copy.
        bundleAwsSDK: true,
        externalModules: [],
        banner: BUNDLING.banner,
        // esbuild runs in the project root, where the alias's relative path resolves.
        esbuildArgs: {
          '--alias': Object.entries(BUNDLING.alias).map(([name, replacement]) => `${name}=${replacement}`),
        },
        // Only local esbuild: synth must work without Docker.
        forceDockerBundling: false,
      },
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 on purpose: the project pins Node 22 (package.json engines), so the code is built and ' +
        'tested on the runtime it runs on; Node.js 22 is an active Lambda runtime. Move to the next LTS ' +
        'together with the toolchain.',
    });
    if (config.tracing) {
      acknowledgeTracingWildcard(
        this.role,
        'Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level ' +
          'permissions, so AWS requires "*" for them (granted by the CDK, for those two actions only; any ' +
          'other action on "*" in this role is still reported).',
      );
    }
  }

  /** Lambda's own Errors metric of this function, summed per period. */
  metricErrors(period: Duration = Duration.minutes(5)) {
    return this.function.metricErrors({ period, statistic: 'Sum' });
  }
}
