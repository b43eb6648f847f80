// Layer flow: the CLIs' store flags (local/cli/store-options.ts) -> these shapes -> openStore and its parts
// (local-store.ts, deployed-stack.ts). Types only: which store a command chose, and what a store is made of.

/** Which store a command reads, as its command line chose it (local/cli/store-options.ts parses it). */
export type StoreChoice = LocalStoreChoice | DeployedStoreChoice;

export interface LocalStoreChoice {
  kind: 'local';
  /** The data directory of `npm start`: its running stack, or DynamoDB Local started on it. */
  dataDir: string;
}

export interface DeployedStoreChoice extends StoreNames {
  kind: 'aws';
  /** The CDK app's stack prefix (or one of its stack names): the stacks' outputs name what is not given. */
  stackName?: string;
  /** Where local copies (the lake's) are kept. */
  dataDir: string;
}

/** What a store is made of; a deployed store knows what it was told or what its stacks' outputs say. */
export interface StoreNames {
  executionsTable?: string;
  stateTable?: string;
  idempotencyTable?: string;
  filesBucket?: string;
  lakeBucket?: string;
  inboxBucket?: string;
  launchQueueUrl?: string;
  launchDlqUrl?: string;
}
