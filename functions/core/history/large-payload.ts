// Layer flow: HistoryReader -> this adapter -> S3. Reads the execution JSON that the sync offloaded to the
// files bucket because it was too large for a DynamoDB item (`rawS3Key`).
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/** A `loadLargePayload` for HistoryReader that reads the object from `bucket`. */
export function s3PayloadLoader(s3: S3Client, bucket: string): (s3Key: string) => Promise<string> {
  return async (s3Key) => {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: s3Key }));
    if (!object.Body) throw new Error(`s3://${bucket}/${s3Key} has no body`);
    return object.Body.transformToString('utf8');
  };
}
