// Layer flow: launch message parsing -> findFileReferences / checkReadable -> the launch use case, which uploads
// each referenced S3 object and puts the returned file in its place (replaceFileReferences). A reference is
// `{"object": "s3_object", "uri": "s3://BUCKET/KEY", "fileName"?}` anywhere in `input` (docs/launches.md).
import { isBucketName, locationText, type S3Location } from '#core/s3-locations';
import * as z from '#core/zod';

/** The discriminator of a file reference, in the style of the API's own `data_factory_file`. */
export const S3_OBJECT = 's3_object';

/** A place in `input`: the keys and indexes from its root, e.g. `['files', 0, 'source']`. */
export type InputPath = ReadonlyArray<string | number>;

/** A file reference found in a launch request's input. */
export interface FileReference {
  path: InputPath;
  bucket: string;
  key: string;
  /** The name the file gets in Product-Live: `fileName`, else the key's last segment. */
  fileName: string;
  /** One version of the object (a versioned bucket); absent: its current version. */
  versionId?: string;
}

/** Where the launch function may read objects: a bucket, and within it a key prefix (empty: the whole bucket). */
export type ReadableLocation = S3Location;

const FileName = z.string().check(
  z.minLength(1, 'fileName must not be empty'),
  z.maxLength(255, 'fileName must be at most 255 characters'),
  z.refine((name) => ![...name].some(isForbiddenInFileName), {
    message: 'fileName must not contain a slash, a backslash or a control character',
  }),
);

const ReferenceShape = z.strictObject({
  object: z.literal(S3_OBJECT),
  uri: z.string({ error: 'expected an s3://bucket/key string' }),
  fileName: z.optional(FileName),
  versionId: z.optional(z.string().check(z.minLength(1, 'versionId must not be empty'), z.maxLength(1024))),
});

/** A slash, a backslash or a control character: what a file name sent to Product-Live must not contain. */
function isForbiddenInFileName(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  return char === '/' || char === '\\' || code < 0x20 || code === 0x7f;
}

/** The parts of `s3://bucket/key`, or a reason why the text is not one. */
function parseS3Uri(uri: string): { bucket: string; key: string } | { problem: string } {
  const match = /^s3:\/\/([^/]*)\/(.*)$/s.exec(uri);
  if (!match) return { problem: `uri must be s3://bucket/key, got ${JSON.stringify(uri)}` };
  const [, bucket = '', key = ''] = match;
  if (!isBucketName(bucket)) return { problem: `uri names no valid bucket: ${JSON.stringify(bucket)}` };
  if (key === '') return { problem: `uri has an empty key: ${JSON.stringify(uri)}` };
  if (Buffer.byteLength(key, 'utf8') > 1024)
    return { problem: 'uri has a key longer than S3 allows (1024 bytes)' };
  return { bucket, key };
}

/** A problem with the file references of a request: the message is refused (dead-lettered) with it. */
export class FileReferenceError extends Error {
  override readonly name = 'FileReferenceError';
}

/**
 * Every file reference in `input`, depth first in key order, each checked: its shape, its URI, and that it lies
 * in a location the function may read. Throws FileReferenceError naming the reference's path and every
 * problem; nothing is read from S3 here.
 */
export function findFileReferences(input: unknown, readable: readonly ReadableLocation[]): FileReference[] {
  const references: FileReference[] = [];
  const problems: string[] = [];
  const visit = (value: unknown, path: Array<string | number>) => {
    if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) visit(item, [...path, index]);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    if (record.object === S3_OBJECT) {
      const where = pathText(path);
      const parsed = ReferenceShape.safeParse(record);
      if (!parsed.success) {
        problems.push(`${where}: ${parsed.error.issues.map(describeIssue).join(', ')}`);
        return;
      }
      const uri = parseS3Uri(parsed.data.uri);
      if ('problem' in uri) {
        problems.push(`${where}: ${uri.problem}`);
        return;
      }
      if (
        !readable.some((location) => location.bucket === uri.bucket && uri.key.startsWith(location.prefix))
      ) {
        problems.push(
          `${where}: s3://${uri.bucket}/${uri.key} is not in a place the launch function may read (${describeLocations(readable)})`,
        );
        return;
      }
      references.push({
        path,
        bucket: uri.bucket,
        key: uri.key,
        fileName: parsed.data.fileName ?? uri.key.slice(uri.key.lastIndexOf('/') + 1),
        ...(parsed.data.versionId ? { versionId: parsed.data.versionId } : {}),
      });
      return;
    }
    for (const [key, child] of Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      visit(child, [...path, key]);
    }
  };
  visit(input, []);
  if (problems.length > 0) throw new FileReferenceError(problems.join('; '));
  const lastSegmentEmpty = references.find((reference) => reference.fileName === '');
  if (lastSegmentEmpty) {
    throw new FileReferenceError(
      `${pathText(lastSegmentEmpty.path)}: s3://${lastSegmentEmpty.bucket}/${lastSegmentEmpty.key} ends with "/": give its fileName`,
    );
  }
  return references;
}

/** `input` with the value at each path replaced (a deep copy: the request itself is not changed). */
export function replaceFileReferences(input: unknown, replacements: ReadonlyMap<string, unknown>): unknown {
  const replace = (value: unknown, path: Array<string | number>): unknown => {
    const key = pathKey(path);
    if (replacements.has(key)) return replacements.get(key);
    if (Array.isArray(value)) return value.map((item, index) => replace(item, [...path, index]));
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([name, child]) => [
        name,
        replace(child, [...path, name]),
      ]),
    );
  };
  return replace(input, []);
}

/** A stable text key of a path, for maps and for the records kept between attempts. */
export function pathKey(path: InputPath): string {
  return JSON.stringify(path);
}

/** A path as people read it: `input.files[0].source`. */
export function pathText(path: InputPath): string {
  return path.reduce<string>(
    (text, part) =>
      typeof part === 'number'
        ? `${text}[${part}]`
        : /^[A-Za-z_$][\w$]*$/.test(part)
          ? `${text}.${part}`
          : `${text}[${JSON.stringify(part)}]`,
    'input',
  );
}

function describeLocations(readable: readonly ReadableLocation[]): string {
  if (readable.length === 0) return 'no bucket is configured: see launchInputBuckets';
  return `allowed: ${readable.map(locationText).join(', ')}`;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => JSON.stringify(key)).join(', ')} in an s3_object reference (expected uri, fileName, versionId)`;
  }
  const field = issue.path.map(String).join('.');
  return field ? `${field}: ${issue.message}` : issue.message;
}
