// Layer flow: stateless stack -> this construct -> the existing Secrets Manager secret holding the API key
// (created by the user, never by the stack: the key never appears in a template or an env var).
import { ArnFormat, Stack } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { SecretReference } from '../config';

export interface ApiKeySecretProps {
  readonly secret: SecretReference;
  readonly kmsKeyArn?: string;
}

export class ApiKeySecret extends Construct {
  /** PRODUCT_LIVE_API_KEY_SECRET_ID: the name or ARN exactly as configured (GetSecretValue accepts both). */
  readonly secretId: string;
  /**
   * The IAM resource of the secret. Secrets Manager appends `-` and 6 random characters to every secret's
   * ARN; a name or partial ARN is matched with `-??????` (exactly those 6 characters, not `*`), as the CDK's
   * own Secret.fromSecretNameV2 does.
   */
  readonly policyArn: string;
  private readonly kmsKeyArn: string | undefined;

  constructor(scope: Construct, id: string, props: ApiKeySecretProps) {
    super(scope, id);
    const { secret } = props;
    this.kmsKeyArn = props.kmsKeyArn;
    if (secret.kind === 'name') {
      this.secretId = secret.name;
      this.policyArn = Stack.of(this).formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `${secret.name}-??????`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
    } else {
      this.secretId = secret.arn;
      this.policyArn = secret.complete ? secret.arn : `${secret.arn}-??????`;
    }
  }

  /** secretsmanager:GetSecretValue on this secret only (no DescribeSecret: the code never calls it). */
  grantRead(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [this.policyArn] }),
    );
    if (this.kmsKeyArn) {
      grantee.grantPrincipal.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [this.kmsKeyArn],
          conditions: {
            StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` },
          },
        }),
      );
    }
  }
}
