// Layer flow: the sync and follow handlers (production wiring) -> these adapters -> the files bucket: the file
// copier for an API key, and where an execution too large for DynamoDB is kept. One definition for both.
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SyncConfig } from '#core/config';
import { FileCopier } from '#core/files/file-copier';

type FilesBucketConfig = Pick<
  SyncConfig,
  'filesBucketName' | 'allowedFileHosts' | 'apiUrl' | 'fileDownloadIdleTimeoutMs'
>;

/** The files bucket's adapters: a copier per API key (a rotated key gets a new one), and the large-payload store. */
export function filesBucketAdapters(s3: S3Client, config: FilesBucketConfig) {
  return {
    copierFor: (apiKey: string) =>
      new FileCopier({
        s3,
        bucket: config.filesBucketName,
        policy: { allowedHosts: config.allowedFileHosts, apiUrl: config.apiUrl },
        apiKey,
        idleTimeoutMs: config.fileDownloadIdleTimeoutMs,
      }),
    storeLargePayload: async (key: string, json: string): Promise<void> => {
      await s3.send(
        new PutObjectCommand({
          Bucket: config.filesBucketName,
          Key: key,
          Body: json,
          ContentType: 'application/json',
        }),
      );
    },
  };
}
