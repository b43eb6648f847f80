// Vitest global setup of the integration suite: one DynamoDB Local, one s3rver and one local SQS for the
// whole run, on free ports; tests isolate themselves with their own table, bucket and queue names.
import type { TestProject } from 'vitest/node';
import { type LocalAwsServers, startLocalAwsServers } from '#local/aws/local-aws-servers';

declare module 'vitest' {
  export interface ProvidedContext {
    localAws: {
      region: string;
      endpoints: { dynamodb: string; s3: string; sqs: string };
      env: Record<string, string>;
      /** The run's generated credentials: the servers answer only requests signed with them. */
      credentials: { accessKeyId: string; secretAccessKey: string };
    };
  }
}

let servers: LocalAwsServers | undefined;

export async function setup(project: TestProject): Promise<void> {
  servers = await startLocalAwsServers();
  const { dynamodb, s3, sqs } = servers.endpoints;
  if (!dynamodb || !s3 || !sqs) throw new Error('local AWS servers did not report every endpoint');
  project.provide('localAws', {
    region: servers.region,
    endpoints: { dynamodb, s3, sqs },
    env: servers.env,
    credentials: { ...servers.credentials },
  });
}

export async function teardown(): Promise<void> {
  await servers?.stop();
}
