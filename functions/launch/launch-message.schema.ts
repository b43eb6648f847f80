// Layer flow: SQS message body (untrusted text) -> parseLaunchBody -> a LaunchMessage for the launch use case, or
// an S3 event for the inbox (inbox.ts). The contract (DESIGN.md): {"jobId": "<24 hex>", "input": {...}?,
// "idempotencyKey": "<string>"?, "taskToken": "<Step Functions task token>"?}. Unknown fields are rejected
// rather than ignored: a misspelt `idempotencyKey` silently dropped would turn a redelivery into a second launch.
import * as z from '#core/zod';
import { isS3Event } from './inbox';
import { InvalidLaunchMessageError } from './launch.errors';

/** Longest accepted `idempotencyKey`, in characters. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;
/** Longest task token Step Functions issues (its API's limit), in characters. */
const MAX_TASK_TOKEN_LENGTH = 2048;

const requiredString = (what: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? 'is required' : `expected ${what}`) });

export const LaunchMessage = z.strictObject({
  jobId: requiredString('a string (a Product-Live job id)').check(
    z.regex(/^[0-9a-fA-F]{24}$/, 'expected 24 hexadecimal characters'),
  ),
  input: z.optional(z.record(z.string(), z.unknown(), { error: 'expected a JSON object' })),
  idempotencyKey: z.optional(
    requiredString('a string').check(
      z.minLength(1, 'must not be empty'),
      z.maxLength(MAX_IDEMPOTENCY_KEY_LENGTH, `must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`),
    ),
  ),
  /** A Step Functions task token: the result is sent to it (SendTaskSuccess/Failure, heartbeats while open). */
  taskToken: z.optional(
    requiredString('a string (a Step Functions task token)').check(
      z.minLength(1, 'must not be empty'),
      z.maxLength(MAX_TASK_TOKEN_LENGTH, `must be at most ${MAX_TASK_TOKEN_LENGTH} characters`),
    ),
  ),
});
export type LaunchMessage = z.infer<typeof LaunchMessage>;

/**
 * Parses and validates an SQS message body. Throws InvalidLaunchMessageError whose `reason` names every
 * problem on one line, e.g. `jobId: expected 24 hexadecimal characters; unknown field "jobid"`.
 */
export function parseLaunchMessage(body: string): LaunchMessage {
  const parsed = parseLaunchBody(body);
  if (parsed.kind === 's3-event')
    throw new InvalidLaunchMessageError('body is an S3 event, not a launch request');
  return parsed.message;
}

/** A message body: a launch request (validated), or an S3 event of the inbox (read by inbox.ts). */
export type LaunchBody = { kind: 'request'; message: LaunchMessage } | { kind: 's3-event'; event: unknown };

/** Parses a message body; an invalid launch request throws InvalidLaunchMessageError naming every problem. */
export function parseLaunchBody(body: string): LaunchBody {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new InvalidLaunchMessageError(`body is not valid JSON (${(error as Error).message})`);
  }
  if (isS3Event(json)) return { kind: 's3-event', event: json };
  return { kind: 'request', message: validate(json) };
}

/**
 * The task token of a message body, even one that is otherwise invalid (so that a refused request's waiting
 * state machine still hears of it); undefined when there is none that Step Functions could have issued.
 */
export function taskTokenOf(body: string): string | undefined {
  try {
    const json = JSON.parse(body) as { taskToken?: unknown } | null;
    const token = json !== null && typeof json === 'object' ? json.taskToken : undefined;
    return typeof token === 'string' && token !== '' && token.length <= MAX_TASK_TOKEN_LENGTH
      ? token
      : undefined;
  } catch {
    return undefined;
  }
}

function validate(json: unknown): LaunchMessage {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    const kind = json === null ? 'null' : Array.isArray(json) ? 'an array' : `a ${typeof json}`;
    throw new InvalidLaunchMessageError(`body must be a JSON object with a "jobId", got ${kind}`);
  }
  const parsed = LaunchMessage.safeParse(json);
  if (parsed.success) return parsed.data;
  throw new InvalidLaunchMessageError(parsed.error.issues.map(describeIssue).join('; '));
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    const fields = issue.keys.map((key) => JSON.stringify(key)).join(', ');
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${fields} (expected jobId, input, idempotencyKey, taskToken)`;
  }
  const path = issue.path.map(String).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}
