// The task callbacks in the template: the callbacks function on the executions stream (filtered to awaited
// executions), the permissions of the three functions that talk to Step Functions, the follow schedule, and
// the ProductLiveJobTask construct as a user's state machine gets it.
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { DefinitionBody, JsonPath, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCallbacksConfig, loadFollowConfig } from '#core/config';
import { AWAITED_EXECUTIONS_FILTER, CALLBACKS_RETRY_ATTEMPTS } from '#infra/constructs/callbacks-service';
import { ProductLiveJobTask } from '#infra/constructs/product-live-job-task';
import { type Synthesized, synthesize } from './support/synth';
import { sortStatements, TemplateView } from './support/template-view';

let synth: Synthesized;
let view: TemplateView;
type Props = Record<string, unknown>;

beforeAll(() => {
  synth = synthesize();
  view = new TemplateView(synth);
}, 120_000);

function mappingOf(functionLogicalId: string): Props {
  const mappings = Object.values(
    synth.statelessTemplate.findResources('AWS::Lambda::EventSourceMapping'),
  ) as {
    Properties: Props;
  }[];
  const found = mappings.filter(
    (mapping) => (mapping.Properties.FunctionName as { Ref?: string }).Ref === functionLogicalId,
  );
  expect(found).toHaveLength(1);
  return found[0]?.Properties ?? {};
}

describe('callbacks function', () => {
  it('gets exactly the configuration its handler reads, and passes its own check', () => {
    const environment = view.environmentOf(synth.stateless.callbacks.handler.function);
    expect(environment).toMatchObject({
      IDEMPOTENCY_TABLE_NAME: 'IdempotencyTable',
      FILES_BUCKET_NAME: 'FilesBucket',
      POWERTOOLS_SERVICE_NAME: 'callbacks',
    });
    expect(loadCallbacksConfig(environment)).toEqual({
      idempotencyTableName: 'IdempotencyTable',
      filesBucketName: 'FilesBucket',
      s3ForcePathStyle: false,
    });
  });

  it('reads the executions stream, only the writes of awaited executions, with bounded retries to a failure queue', () => {
    const mapping = mappingOf(view.logicalId(synth.stateless.callbacks.handler.function));
    expect(view.describe(mapping.EventSourceArn as never, 'stateless')).toBe('ExecutionsTable.StreamArn');
    expect(mapping).toMatchObject({
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: CALLBACKS_RETRY_ATTEMPTS,
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify(AWAITED_EXECUTIONS_FILTER) }] },
    });
    expect(
      view.describe(
        (mapping.DestinationConfig as { OnFailure: { Destination: never } }).OnFailure.Destination,
        'stateless',
      ),
    ).toBe('CallbacksFailureQueue.Arn');
  });

  it('may read the task tokens, the large executions, and send results, nothing else', () => {
    const statements = view.statementsOf(synth.stateless.callbacks.handler.role);
    // The event source's own grants: the stream's reads and the failure queue.
    const bySource = (statement: { actions: string[] }) =>
      statement.actions.includes('dynamodb:GetRecords') ||
      statement.actions.includes('dynamodb:ListStreams') ||
      statement.actions.includes('sqs:SendMessage');
    expect(statements.filter((statement) => !bySource(statement))).toEqual(
      sortStatements([
        { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: ['CallbacksLogGroup.Arn'] },
        { actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], resources: ['*'] },
        { actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: ['IdempotencyTable.Arn'] },
        { actions: ['s3:GetObject'], resources: ['FilesBucket.Arn/executions/*'] },
        { actions: ['states:SendTaskFailure', 'states:SendTaskSuccess'], resources: ['*'] },
      ]),
    );
    const sourced = statements.filter(bySource);
    expect(sourced.find((statement) => statement.actions.includes('dynamodb:GetRecords'))?.resources).toEqual(
      ['ExecutionsTable.StreamArn'],
    );
    expect(sourced.find((statement) => statement.actions.includes('sqs:SendMessage'))?.resources).toEqual([
      'CallbacksFailureQueue.Arn',
    ]);
  });
});

describe('follow function and task heartbeats', () => {
  it('runs on a schedule of followRate, and may heartbeat and read and mark the task tokens', () => {
    const custom = synthesize({ context: { followRate: '2 minutes' } });
    custom.statelessTemplate.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(2 minutes)',
      Target: {
        Arn: {
          'Fn::GetAtt': [new TemplateView(custom).logicalId(custom.stateless.follow.handler.function), 'Arn'],
        },
      },
    });
    const statements = view.statementsOf(synth.stateless.follow.handler.role);
    expect(statements).toContainEqual({ actions: ['states:SendTaskHeartbeat'], resources: ['*'] });
    expect(statements).toContainEqual({
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      resources: ['IdempotencyTable.Arn'],
    });
    const environment = view.environmentOf(synth.stateless.follow.handler.function);
    expect(environment.IDEMPOTENCY_TABLE_NAME).toBe('IdempotencyTable');
    // In AWS a pass follows only the executions a task token waits on (the default scope).
    expect(loadFollowConfig(environment)).toMatchObject({
      scope: 'awaited',
      idempotencyTableName: 'IdempotencyTable',
    });
  });
});

describe('ProductLiveJobTask', () => {
  /** The rendered task of a one-state machine built with `props`. */
  function taskOf(props: Partial<ConstructorParameters<typeof ProductLiveJobTask>[2]> = {}) {
    const app = new App();
    const stack = new Stack(app, 'UserStack', { env: { account: '123456789012', region: 'eu-west-1' } });
    const queue = Queue.fromQueueArn(stack, 'LaunchQueue', 'arn:aws:sqs:eu-west-1:123456789012:launch');
    const task = new ProductLiveJobTask(stack, 'Import', {
      queue,
      jobId: '65819ba43ad5b963658ab35d',
      ...props,
    });
    new StateMachine(stack, 'Machine', { definitionBody: DefinitionBody.fromChainable(task) });
    const template = Template.fromStack(stack);
    const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine')) as {
      Properties: { DefinitionString: unknown };
    }[];
    const text = JSON.stringify(stack.resolve(machine?.Properties.DefinitionString));
    const definition = JSON.parse(
      (JSON.parse(text) as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1]
        .map((part) => (typeof part === 'string' ? part : 'REF'))
        .join(''),
    ) as { States: { Import: Record<string, unknown> } };
    return { task: definition.States.Import, template };
  }

  it('sends the launch request with its task token and waits for it, with a key from the execution and state', () => {
    const { task, template } = taskOf({
      input: { file: { object: 's3_object', uri: JsonPath.stringAt('$.file') }, mode: 'full' },
      heartbeat: Duration.minutes(5),
      timeout: Duration.hours(1),
    });
    expect(task).toMatchObject({
      Type: 'Task',
      Resource: 'arn:REF:states:::sqs:sendMessage.waitForTaskToken',
      HeartbeatSeconds: 300,
      TimeoutSeconds: 3600,
      Parameters: {
        MessageBody: {
          jobId: '65819ba43ad5b963658ab35d',
          input: { file: { object: 's3_object', 'uri.$': '$.file' }, mode: 'full' },
          'idempotencyKey.$':
            "States.Format('sfn:{}', States.Hash(States.Format('{}#{}', $$.Execution.Id, $$.State.Name), 'SHA-256'))",
          'taskToken.$': '$$.Task.Token',
        },
      },
    });
    // The state machine's role may send to the launch queue, nothing else of it.
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Action: 'sqs:SendMessage',
            Effect: 'Allow',
            Resource: 'arn:aws:sqs:eu-west-1:123456789012:launch',
          },
        ],
      },
    });
  });

  it('takes an idempotency key and a job id from the state input', () => {
    const { task } = taskOf({
      jobId: JsonPath.stringAt('$.jobId'),
      idempotencyKey: JsonPath.stringAt('$.orderId'),
    });
    expect((task.Parameters as { MessageBody: Props }).MessageBody).toEqual({
      'jobId.$': '$.jobId',
      'idempotencyKey.$': '$.orderId',
      'taskToken.$': '$$.Task.Token',
    });
    expect(task.HeartbeatSeconds).toBeUndefined();
  });

  it('makes each iteration of a Map its own launch from the default key and the item index', () => {
    const { task } = taskOf({
      idempotencyKey: JsonPath.format(
        '{}:{}',
        ProductLiveJobTask.DEFAULT_IDEMPOTENCY_KEY,
        JsonPath.stringAt('$$.Map.Item.Index'),
      ),
    });
    expect((task.Parameters as { MessageBody: Props }).MessageBody['idempotencyKey.$']).toBe(
      "States.Format('{}:{}', States.Format('sfn:{}', States.Hash(States.Format('{}#{}', $$.Execution.Id, $$.State.Name), 'SHA-256')), $$.Map.Item.Index)",
    );
  });
});

describe('example state machine', () => {
  it('is deployed only with exampleStateMachine, and branches on the ProductLive errors', () => {
    expect(synth.stateless.exampleStateMachine).toBeUndefined();
    const example = synthesize({ context: { exampleStateMachine: 'true' } });
    const machines = Object.values(
      example.statelessTemplate.findResources('AWS::StepFunctions::StateMachine'),
    );
    expect(machines).toHaveLength(1);
    const text = JSON.stringify(machines[0]);
    for (const error of ['ProductLive.USER_ERROR', 'ProductLive.Rejected', 'States.ALL'])
      expect(text).toContain(error);
    expect(example.statelessTemplate.findOutputs('ExampleStateMachineArn')).not.toEqual({});
  });
});
