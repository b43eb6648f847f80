// Layer flow: the launch function's configuration and file references, the CDK stack's -> these helpers -> S3
// bucket names and `bucket/prefix` locations, checked the same way in every place that names one.

/** A bucket, and within it a key prefix (empty: the whole bucket). */
export interface S3Location {
  bucket: string;
  prefix: string;
}

const BUCKET_NAME = /^(?!\d{1,3}(\.\d{1,3}){3}$)(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** True when `name` is a valid S3 bucket name (3–63 characters: lowercase letters, digits, dots, hyphens). */
export function isBucketName(name: string): boolean {
  return BUCKET_NAME.test(name);
}

/** `bucket` or `bucket/prefix/` (an `s3://` in front is allowed) as a location; undefined when it is not one. */
export function parseS3Location(text: string): S3Location | undefined {
  const value = text.trim().replace(/^s3:\/\//, '');
  const slash = value.indexOf('/');
  const bucket = slash === -1 ? value : value.slice(0, slash);
  const prefix = slash === -1 ? '' : value.slice(slash + 1);
  return isBucketName(bucket) && prefix.length <= 1024 ? { bucket, prefix } : undefined;
}

/** A location as people write it: `s3://bucket/prefix`. */
export function locationText(location: S3Location): string {
  return `s3://${location.bucket}/${location.prefix}`;
}
