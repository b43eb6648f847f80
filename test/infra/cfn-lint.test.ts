// cfn-lint (installed on the machine image; CI's too) over every synthesized template, with the default
// context and with every optional feature on: any error fails the suite.
import { execFile } from 'node:child_process';
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
});
