// Layer flow: the one list of the project's Lambda functions -> the CDK constructs and the Powertools environment
// (infra/), the settings docs, the bundle benchmark, the config loaders' variables. Data only: no function imports
// it at run time, so no bundle carries the others' entries. Adding a function: docs/CONTRIBUTING.md.

/** One Lambda function of the project: where its code starts, how it is wired, what it is for. */
interface FunctionDefinition {
  /** The handler file, repository-relative: production wiring only; it exports `handler` (Lambda's entry point). */
  readonly entry: string;
  /** The handler factory the entry calls, as the local stack, the benchmarks and the tests call it with their own deps. */
  readonly factory: { readonly file: string; readonly name: string };
  /** The loader of functions/core/config.ts that parses the function's variables (those naming it in ENV_VARIABLES). */
  readonly config: string;
  /** What invokes the function (the docs' table of functions). */
  readonly trigger: string;
  /** What the function does: the Lambda's description, and the docs' table of functions. */
  readonly description: string;
}

/**
 * Every function, by name. The name is its POWERTOOLS_SERVICE_NAME (the `service` dimension of its metrics), the
 * `function` column of the docs, and the key of its variables in ENV_VARIABLES and of its context-key environment.
 */
export const FUNCTIONS = {
  sync: {
    entry: 'functions/sync/handler.ts',
    factory: { file: 'functions/sync/sync-handler.ts', name: 'createSyncHandler' },
    config: 'loadSyncConfig',
    trigger: 'EventBridge Scheduler, every `syncSchedule`',
    description: 'Product-Live job execution sync: mirrors executions into DynamoDB and their files into S3',
  },
  launch: {
    entry: 'functions/launch/handler.ts',
    factory: { file: 'functions/launch/launch-handler.ts', name: 'createLaunchHandler' },
    config: 'loadLaunchConfig',
    trigger: 'the SQS launch queue (batches, partial batch responses)',
    description: 'Product-Live job launcher: starts one job execution per SQS launch request',
  },
  lake: {
    entry: 'functions/lake/handler.ts',
    factory: { file: 'functions/lake/lake-handler.ts', name: 'createLakeHandler' },
    config: 'loadLakeConfig',
    trigger: 'EventBridge Scheduler, every `lakeSchedule`',
    description:
      'Product-Live job execution lake: rewrites the Parquet tables of the days whose executions changed',
  },
  events: {
    entry: 'functions/events/handler.ts',
    factory: { file: 'functions/events/events-handler.ts', name: 'createEventsHandler' },
    config: 'loadEventsConfig',
    trigger: "the executions table's DynamoDB stream",
    description:
      'Product-Live job execution events: publishes every stored status change, and each result, to EventBridge',
  },
  follow: {
    entry: 'functions/follow/handler.ts',
    factory: { file: 'functions/follow/follow-handler.ts', name: 'createFollowHandler' },
    config: 'loadFollowConfig',
    trigger: 'EventBridge Scheduler, every `followRate`',
    description:
      'Product-Live launch follower: re-reads the open launched executions something waits on, and copies their files',
  },
  callbacks: {
    entry: 'functions/callbacks/handler.ts',
    factory: { file: 'functions/callbacks/callbacks-handler.ts', name: 'createCallbacksHandler' },
    config: 'loadCallbacksConfig',
    trigger: "the executions table's DynamoDB stream, filtered to executions a task token waits on",
    description:
      'Product-Live task callbacks: sends each awaited launch its result (Step Functions SendTaskSuccess/Failure)',
  },
} as const satisfies Record<string, FunctionDefinition>;

export type FunctionName = keyof typeof FUNCTIONS;

/** The names of every function, in the order of FUNCTIONS. */
export const FUNCTION_NAMES = Object.keys(FUNCTIONS) as FunctionName[];
