// Layer flow: openStore (and `npm run doctor`) -> this module -> CloudFormation DescribeStacks of the CDK app's two
// stacks (`<prefix>-Stateful`, `<prefix>-Stateless`) -> the names of the tables, buckets and queues, from their
// outputs. Names given on the command line win over the outputs.
import {
  CloudFormationClient,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
} from '@aws-sdk/client-cloudformation';
import { StoreError } from './store-error';
import type { DeployedStoreChoice, StoreNames } from './store-types';

/** The suffixes of the app's two stack names (infra/create-app.ts). */
const STACK_SUFFIXES = ['-Stateful', '-Stateless'] as const;

/** Which output names which part of a store. */
const OUTPUT_OF: Readonly<Record<keyof StoreNames, string>> = {
  executionsTable: 'ExecutionsTableName',
  stateTable: 'StateTableName',
  idempotencyTable: 'IdempotencyTableName',
  filesBucket: 'FilesBucketName',
  lakeBucket: 'LakeBucketName',
  inboxBucket: 'InboxBucketName',
  launchQueueUrl: 'LaunchQueueUrl',
  launchDlqUrl: 'LaunchDeadLetterQueueUrl',
};

/** The app's stack prefix of a name: the prefix itself, or one of its two stacks' names. */
export function stackPrefixOf(name: string): string {
  const suffix = STACK_SUFFIXES.find((candidate) => name.endsWith(candidate));
  return suffix ? name.slice(0, -suffix.length) : name;
}

/** Every output of the app's two stacks, by output key (a stack that does not exist is a StoreError). */
async function readStackOutputs(
  stackName: string,
  given?: CloudFormationClient,
): Promise<Record<string, string>> {
  const client = given ?? new CloudFormationClient({});
  try {
    return await outputsOf(client, stackPrefixOf(stackName));
  } finally {
    if (!given) client.destroy();
  }
}

async function outputsOf(client: CloudFormationClient, prefix: string): Promise<Record<string, string>> {
  const outputs: Record<string, string> = {};
  for (const suffix of STACK_SUFFIXES) {
    const name = `${prefix}${suffix}`;
    let stacks: DescribeStacksCommandOutput;
    try {
      stacks = await client.send(new DescribeStacksCommand({ StackName: name }));
    } catch (error) {
      if (error instanceof Error && /does not exist/.test(error.message)) {
        throw new StoreError(
          `stack ${name} was not found: check --stack (the CDK app's stack prefix, default ProductLiveSync) and the AWS region (AWS_REGION)`,
        );
      }
      throw error;
    }
    for (const output of stacks.Stacks?.[0]?.Outputs ?? []) {
      if (output.OutputKey && output.OutputValue) outputs[output.OutputKey] = output.OutputValue;
    }
  }
  return outputs;
}

/**
 * The store's names (those given, completed from the stacks' outputs) and every output of the two stacks (none
 * without a stack name): `npm run doctor` finds the schedules, alarms and queues by them.
 */
export async function resolveDeployed(
  choice: DeployedStoreChoice,
  client?: CloudFormationClient,
): Promise<{ names: StoreNames; outputs: Readonly<Record<string, string>> | undefined }> {
  const outputs = choice.stackName ? await readStackOutputs(choice.stackName, client) : undefined;
  const names: Partial<StoreNames> = {};
  for (const [name, output] of Object.entries(OUTPUT_OF) as Array<[keyof StoreNames, string]>) {
    const value = choice[name] ?? outputs?.[output];
    if (value) names[name] = value;
  }
  if (choice.stackName && !outputs?.ExecutionsTableName) {
    throw new StoreError(
      `stack ${stackPrefixOf(choice.stackName)}-Stateful has no output ExecutionsTableName: is it this project's stack?`,
    );
  }
  return { names, outputs };
}
