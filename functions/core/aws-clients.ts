// Layer flow: handlers -> these factories -> AWS SDK v3 clients, created once per container. Endpoints come
// from the SDK's standard AWS_ENDPOINT_URL_* variables (local stack), never from custom settings.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** A document client that drops undefined attributes (optional fields are simply absent). */
export function createDocumentClient(
  client: DynamoDBClient = new DynamoDBClient({}),
): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
}

/** An S3 client; path-style URLs when pointed at an S3 emulator (s3rver has no bucket subdomains). */
export function createS3Client(options: { forcePathStyle: boolean }): S3Client {
  return new S3Client({ forcePathStyle: options.forcePathStyle });
}
