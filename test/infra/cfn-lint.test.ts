// cfn-lint (installed on the machine image; CI's too) over every synthesized template, with the default
// context and with every optional feature on: any error fails the suite.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { synthesize } from './support/synth';

interface LintFinding {
  Filename: string;
  Level: 'Error' | 'Warning' | 'Informational';
  Message: string;
  Rule: { Id: string };
  Location: { Path: Array<string | number> };
}

async function cfnLint(templates: string[]): Promise<LintFinding[]> {
  try {
    const { stdout } = await promisify(execFile)('cfn-lint', ['--format', 'json', ...templates], {
      maxBuffer: 64 * 1024 * 1024,
    });
    return JSON.parse(stdout || '[]') as LintFinding[];
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stdout?: string };
    if (failure.code === 'ENOENT') {
      throw new Error(
        'cfn-lint is not installed: `pip install cfn-lint` (the infra suite runs it on every template)',
      );
    }
    // cfn-lint exits non-zero when it reports anything; its findings are still on stdout.
    return JSON.parse(failure.stdout || '[]') as LintFinding[];
  }
}

describe('cfn-lint', () => {
  it.each([
    ['the default context', {}],
    ['tracing off', { tracing: 'false' }],
    [
      'every optional feature on',
      {
        alarmEmail: 'ops@example.com',
        alertEmails: '["ops@example.com","data@example.com"]',
        alertStatuses: 'FAILED,TIMEDOUT,USER_ERROR',
        eventBusName: 'product-live',
        tracing: 'true',
        fileAllowedHosts: 'files.example.com,*.product-live.com',
        apiKeySecret: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:product-live/api-key-AbCdEf',
        apiKeySecretKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        launchInputBuckets: '["acme-exports/erp/","acme-drops"]',
        exampleStateMachine: 'true',
        launchInbox: JSON.stringify([
          { prefix: 'imports/supplier-a/', jobId: '65819ba43ad5b963658ab35d' },
          {
            prefix: 'imports/erp/',
            jobId: '65819ba43ad5b963658ab35e',
            inputKey: 'source',
            input: { mode: 'full' },
          },
        ]),
      },
    ],
  ])('finds no error in the templates synthesized with %s', async (_name, context) => {
    const synth = synthesize({ context });
    const templates = synth.assembly.stacks.map((stack) => stack.templateFullPath);
    expect(templates).toHaveLength(2);
    const findings = await cfnLint(templates);
    const errors = findings
      .filter((finding) => finding.Level === 'Error')
      .map((finding) => `${finding.Rule.Id} ${finding.Location.Path.join('/')}: ${finding.Message}`);
    expect(errors).toEqual([]);
  });

  it("validates the example state machine's definition (the ProductLiveJobTask in it) as Amazon States Language", async () => {
    const synth = synthesize({ context: { exampleStateMachine: 'true' } });
    const template = JSON.parse(
      await readFile(synth.assembly.getStackByName(synth.stateless.stackName).templateFullPath, 'utf8'),
    ) as {
      Resources: Record<string, { Type: string; Properties: { DefinitionString?: unknown } }>;
    };
    const [stateMachine] = Object.values(template.Resources).filter(
      (resource) => resource.Type === 'AWS::StepFunctions::StateMachine',
    );
    // The definition is a Fn::Join of text and references: the references become plausible literals, so that
    // cfn-lint sees the definition as an object and checks it against the ASL schema.
    const definition = JSON.parse(joinWithLiterals(stateMachine?.Properties.DefinitionString)) as {
      States: Record<string, Record<string, unknown>>;
    };
    expect(definition.States['Import the file']).toMatchObject({
      Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
      HeartbeatSeconds: 300,
      Parameters: { MessageBody: { 'taskToken.$': '$$.Task.Token' } },
    });
    const lint = async (asl: unknown) => {
      const dir = await mkdtemp(join(tmpdir(), 'asl-'));
      const file = join(dir, 'state-machine.json');
      await writeFile(
        file,
        JSON.stringify({
          AWSTemplateFormatVersion: '2010-09-09',
          Resources: {
            Example: {
              Type: 'AWS::StepFunctions::StateMachine',
              Properties: { RoleArn: 'arn:aws:iam::123456789012:role/example', Definition: asl },
            },
          },
        }),
      );
      return (await cfnLint([file]))
        .filter((finding) => finding.Level === 'Error')
        .map((finding) => finding.Message);
    };
    expect(await lint(definition)).toEqual([]);
    // The check can fail: the same definition with a task that names no resource is an error.
    const broken = structuredClone(definition);
    delete (broken.States['Import the file'] as { Resource?: unknown }).Resource;
    expect(await lint(broken)).not.toEqual([]);
  });
});

/** The text of a Fn::Join, its references replaced by literals (the partition `aws`, a queue's URL). */
function joinWithLiterals(value: unknown): string {
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) return String(value);
  return join[1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const ref = (part as { Ref?: string }).Ref;
      if (ref === 'AWS::Partition') return 'aws';
      if (ref === 'AWS::Region') return 'eu-west-1';
      if (ref === 'AWS::AccountId') return '123456789012';
      return `https://sqs.eu-west-1.amazonaws.com/123456789012/${ref ?? 'resource'}`;
    })
    .join(join[0]);
}
