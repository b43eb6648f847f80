// Layer flow: the launch queue (S3's "Object Created" events of the inbox bucket, routed by EventBridge; locally
// the inbox poller's) -> inboxRequest -> a launch request for the job whose rule claims the object's prefix, keyed
// by bucket, key and version so that a redelivered notification launches nothing twice (docs/launches.md).
import { DEFAULT_INBOX_INPUT_KEY, type InboxRule, RESERVED_INBOX_PREFIX } from '#core/inbox-rules';
import * as z from '#core/zod';
import { S3_OBJECT } from './file-references';

/** S3's "Object Created" event as EventBridge delivers it (the fields used here; others are kept). */
const ObjectCreatedEvent = z.looseObject({
  source: z.literal('aws.s3'),
  'detail-type': z.literal('Object Created'),
  detail: z.looseObject({
    bucket: z.looseObject({ name: z.string() }),
    object: z.looseObject({
      key: z.string().check(z.minLength(1)),
      size: z.optional(z.number()),
      etag: z.optional(z.string()),
      'version-id': z.optional(z.string()),
      sequencer: z.optional(z.string()),
    }),
  }),
});

/** True when a message body is an S3 event rather than a launch request (it is read as such). */
export function isS3Event(json: unknown): boolean {
  return json !== null && typeof json === 'object' && (json as { source?: unknown }).source === 'aws.s3';
}

/** What an inbox event becomes. */
export type InboxOutcome =
  | { kind: 'launch'; idempotencyKey: string; jobId: string; input: Record<string, unknown>; object: string }
  | { kind: 'ignore'; reason: string };

/**
 * The launch request an S3 event asks for: the object's key decoded as S3 encodes it in events (`+` for a
 * space, `%C3%A9` for `é`), the rule with the longest prefix that claims it, and a key unique to the object's
 * version. An object of another bucket, under the reserved prefix or no rule's is ignored (with the reason).
 */
export function inboxRequest(
  json: unknown,
  inboxBucket: string | undefined,
  rules: readonly InboxRule[],
): InboxOutcome {
  const event = ObjectCreatedEvent.safeParse(json);
  if (!event.success) return { kind: 'ignore', reason: 'an S3 event that is not "Object Created"' };
  const { bucket, object } = event.data.detail;
  if (!inboxBucket || bucket.name !== inboxBucket) {
    return { kind: 'ignore', reason: `an object of bucket ${bucket.name}, which is not the inbox` };
  }
  const key = decodeEventKey(object.key);
  if (key === undefined)
    return { kind: 'ignore', reason: `an object key that does not decode: ${object.key}` };
  const where = `s3://${bucket.name}/${key}`;
  if (key.startsWith(RESERVED_INBOX_PREFIX)) {
    return {
      kind: 'ignore',
      reason: `${where} is under ${RESERVED_INBOX_PREFIX}, which launches by message only`,
    };
  }
  if (key.endsWith('/')) return { kind: 'ignore', reason: `${where} is a folder marker` };
  const rule = [...rules]
    .filter((candidate) => key.startsWith(candidate.prefix))
    .sort((a, b) => b.prefix.length - a.prefix.length)[0];
  if (!rule) return { kind: 'ignore', reason: `no inbox rule claims ${where}` };
  const version = object['version-id'] ?? `${object.etag ?? ''}:${object.sequencer ?? ''}`;
  const reference = {
    object: S3_OBJECT,
    uri: where,
    ...(object['version-id'] ? { versionId: object['version-id'] } : {}),
  };
  return {
    kind: 'launch',
    idempotencyKey: `inbox:${bucket.name}/${key}#${version}`,
    jobId: rule.jobId,
    input: { ...(rule.input ?? {}), [rule.inputKey ?? DEFAULT_INBOX_INPUT_KEY]: reference },
    object: where,
  };
}

/** A key as S3 writes it in events: form-encoded (`+` is a space). Undefined when it is not valid encoding. */
export function decodeEventKey(encoded: string): string | undefined {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, '%20'));
  } catch {
    return undefined;
  }
}

/** How S3 writes a key in its events (the inverse of decodeEventKey): the local inbox poller uses it. */
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+');
}
