// Layer flow: a setting's raw value (an environment variable, a CDK context value) -> these parsers -> a typed
// value, or a problem naming the setting, what was expected and what was given. The functions' config and the
// CDK stack's config both define their settings with these, so that a value means the same in both.
import { parseS3Location, type S3Location } from './s3-locations';
import * as z from './zod';

/** One setting: how to parse it, its default as a user would type it, and what it means (for the docs). */
export interface Setting<T> {
  readonly schema: z.ZodMiniType<T>;
  /** The default, as text a user would type; absent: the setting is optional (or `required`). */
  readonly defaultValue?: string;
  /** True when the setting has no default and must be given. */
  readonly required?: boolean;
  readonly description: string;
}

/** A setting definition (the schema's output type is inferred). */
export function setting<T>(definition: Setting<T>): Setting<T> {
  return definition;
}

/** The parsed value of each setting of a set: undefined for an optional setting that was not given. */
export type SettingValues<S extends Record<string, Setting<unknown>>> = {
  [K in keyof S]: S[K] extends Setting<infer T> ? T | undefined : never;
};

/**
 * Reads every setting of `settings` through `read` (blank or absent: the default), and returns the values
 * with one problem line per bad or missing setting: `NAME: expected …, got "…"`.
 */
export function readSettings<S extends Record<string, Setting<unknown>>>(
  settings: S,
  read: (name: string) => unknown,
): { values: SettingValues<S>; problems: string[] } {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, definition] of Object.entries(settings)) {
    const raw = read(name);
    const given = !isBlank(raw);
    if (!given && definition.defaultValue === undefined) {
      if (definition.required) problems.push(`${name}: is required`);
      values[name] = undefined;
      continue;
    }
    const result = definition.schema.safeParse(given ? raw : definition.defaultValue);
    if (result.success) {
      values[name] = result.data;
    } else {
      problems.push(`${name}: ${result.error.issues[0]?.message ?? 'invalid'}`);
      values[name] = undefined;
    }
  }
  return { values: values as SettingValues<S>, problems };
}

function isBlank(raw: unknown): boolean {
  return raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '');
}

/** The text of a scalar value, trimmed; undefined for anything else. */
function textOf(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw.trim();
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  return undefined;
}

/**
 * A parser from a check: `check` returns the value, or undefined when the raw value is not acceptable.
 * `echo: false` keeps the given value out of the message (secrets).
 */
export function parser<T>(
  expected: string,
  check: (raw: unknown) => T | undefined,
  options: { echo?: boolean } = {},
): z.ZodMiniType<T> {
  return z.pipe(
    z.unknown(),
    z.transform((raw, context) => {
      const value = check(raw);
      if (value !== undefined) return value;
      context.issues.push({
        code: 'custom',
        input: raw,
        message:
          options.echo === false
            ? `expected ${expected}`
            : `expected ${expected}, got ${JSON.stringify(raw)}`,
      });
      return z.NEVER;
    }),
  ) as unknown as z.ZodMiniType<T>;
}

/** An integer within [min, max]. */
export const integer = (min: number, max: number) =>
  parser(`an integer from ${min} to ${max}`, (raw) => {
    const value = typeof raw === 'number' ? raw : Number(textOf(raw) ?? Number.NaN);
    return Number.isInteger(value) && value >= min && value <= max ? value : undefined;
  });

/** `true` or `false` (any case). */
export const boolean = parser('true or false', (raw) => {
  const value = textOf(raw)?.toLowerCase();
  return value === 'true' ? true : value === 'false' ? false : undefined;
});

/** Non-empty text, trimmed. */
export const text = parser('a non-empty text', (raw) => textOf(raw) || undefined);

/** Non-empty text that is never repeated in a message (an API key). */
export const secretText = parser('a non-empty value', (raw) => textOf(raw) || undefined, { echo: false });

/** An http or https URL without trailing slashes. */
export const httpUrl = parser('an http(s) URL', (raw) => {
  const value = textOf(raw);
  return value && /^https?:\/\/[^/\s]/.test(value) && URL.canParse(value)
    ? value.replace(/\/+$/, '')
    : undefined;
});

/** An https URL without trailing slashes (a deployed function cannot reach a loopback emulator). */
export const httpsUrl = parser('an https:// URL', (raw) => {
  const value = textOf(raw);
  return value && /^https:\/\/[^/\s]/.test(value) && URL.canParse(value)
    ? value.replace(/\/+$/, '')
    : undefined;
});

/** A URL path starting with `/`. */
export const urlPath = parser('a path starting with /', (raw) => {
  const value = textOf(raw);
  return value?.startsWith('/') && !/\s/.test(value) ? value : undefined;
});

/** An ISO 8601 date or date-time, normalised to `Date#toISOString()`. */
export const isoDate = parser('an ISO 8601 date such as 2024-01-31 or 2024-01-31T00:00:00Z', (raw) => {
  const value = textOf(raw);
  return value && /^\d{4}-\d{2}-\d{2}/.test(value) && Number.isFinite(Date.parse(value))
    ? new Date(value).toISOString()
    : undefined;
});

const HOST = /^(\*\.)?[a-z0-9.-]+(:\d+)?$/;

/** Host patterns, comma-separated or a list: `host`, `host:port`, `*.domain`. */
export const hostList = parser('comma-separated host names (host, host:port or *.domain)', (raw) => {
  const items = Array.isArray(raw) ? raw.map(String) : (textOf(raw)?.split(',') ?? []);
  const hosts = items.map((host) => host.trim().toLowerCase()).filter(Boolean);
  return hosts.length > 0 && hosts.every((host) => HOST.test(host)) ? hosts : undefined;
});

const EMAIL = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;

/** One e-mail address. */
export const email = parser('an e-mail address', (raw) => {
  const value = textOf(raw);
  return value && EMAIL.test(value) ? value : undefined;
});

/** One of `choices` (case-insensitive; the canonical spelling is returned). */
export const oneOf = <T extends string>(choices: readonly T[]) =>
  parser(choices.join(', ').replace(/, ([^,]*)$/, ' or $1'), (raw) => {
    const value = textOf(raw)?.toUpperCase();
    return choices.find((choice) => choice.toUpperCase() === value);
  });

/** S3 locations, `bucket` or `bucket/prefix/`, comma-separated, a JSON list, or a list (none is a value). */
export const s3LocationList = parser<S3Location[]>(
  'S3 buckets, each `bucket` or `bucket/prefix/`, separated by commas or as a JSON list',
  (raw) => {
    let value = raw;
    if (typeof value === 'string' && value.trim().startsWith('[')) {
      try {
        value = JSON.parse(value) as unknown;
      } catch {
        return undefined;
      }
    }
    const items = Array.isArray(value) ? value.map(String) : (textOf(value)?.split(',') ?? []);
    const locations = items
      .map((item) => item.trim())
      .filter(Boolean)
      .map(parseS3Location);
    return locations.every((location) => location !== undefined) ? (locations as S3Location[]) : undefined;
  },
);

/** JSON text (or, from CDK context, the value itself) that `schema` accepts; the message names the first problem. */
export function jsonSetting<T>(schema: z.ZodMiniType<T>, expected: string): z.ZodMiniType<T> {
  return z.pipe(
    z.unknown(),
    z.transform((raw, context) => {
      let value = raw;
      if (typeof raw === 'string') {
        try {
          value = JSON.parse(raw) as unknown;
        } catch (error) {
          context.issues.push({
            code: 'custom',
            input: raw,
            message: `expected ${expected}: ${(error as Error).message}`,
          });
          return z.NEVER;
        }
      }
      const parsed = schema.safeParse(value);
      if (parsed.success) return parsed.data;
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `${issue.path.map(String).join('.')}: ` : '';
      context.issues.push({
        code: 'custom',
        input: raw,
        message: `expected ${expected}: ${where}${issue?.message ?? 'invalid'}`,
      });
      return z.NEVER;
    }),
  ) as unknown as z.ZodMiniType<T>;
}
