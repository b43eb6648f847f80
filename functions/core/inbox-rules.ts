// Layer flow: CDK context `launchInbox` (infra/config.ts) and the launch function's LAUNCH_INBOX_RULES -> this
// schema -> the rules that turn objects created in the inbox bucket into launch requests (functions/launch/inbox.ts).
import * as z from './zod';

/** Objects the local `npm run launch -- --file` puts in the inbox: no rule may claim them (they launch by message). */
export const RESERVED_INBOX_PREFIX = 'uploads/';

/** The input key an inbox launch puts the object at, when its rule names none. */
export const DEFAULT_INBOX_INPUT_KEY = 'file';

const JOB_ID = /^[0-9a-fA-F]{24}$/;
const INPUT_KEY = /^[A-Za-z0-9_.-]{1,128}$/;

/** One inbox rule: objects created under `prefix` launch `jobId` with the object at `input[inputKey]`. */
export const InboxRule = z.strictObject({
  prefix: z.string().check(
    z.minLength(1, 'prefix must not be empty'),
    z.maxLength(1024, 'prefix must be at most 1024 characters'),
    z.refine((prefix) => !prefix.startsWith(RESERVED_INBOX_PREFIX), {
      message: `prefix must not start with ${RESERVED_INBOX_PREFIX} (reserved for npm run launch -- --file)`,
    }),
  ),
  jobId: z.string().check(z.regex(JOB_ID, 'jobId must be 24 hexadecimal characters')),
  inputKey: z.optional(
    z.string().check(z.regex(INPUT_KEY, 'inputKey must be 1 to 128 letters, digits, "_", "." or "-"')),
  ),
  input: z.optional(z.record(z.string(), z.unknown())),
});
export type InboxRule = z.infer<typeof InboxRule>;

/** A list of rules with distinct prefixes. */
export const InboxRules = z.array(InboxRule).check(
  z.refine((rules) => new Set(rules.map((rule) => rule.prefix)).size === rules.length, {
    message: 'two rules have the same prefix',
  }),
);
