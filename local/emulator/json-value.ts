// JSON values as the emulator stores them: plain data, deep-copied at every boundary so that no caller
// (test or HTTP client) can alter the store through a returned object.

export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export type JsonObject = { [key: string]: JsonValue };

/** True for a JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A deep copy of a JSON value in which every string goes through `mapString`. */
export function cloneJson<T extends JsonValue>(value: T, mapString: (text: string) => string = identity): T {
  return cloneValue(value, mapString) as T;
}

function cloneValue(value: JsonValue, mapString: (text: string) => string): JsonValue {
  if (typeof value === 'string') return mapString(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => cloneValue(item, mapString));
  const copy: JsonObject = {};
  for (const key of Object.keys(value)) {
    const item = value[key];
    if (item !== undefined) copy[key] = cloneValue(item, mapString);
  }
  return copy;
}

/** Converts any value to plain JSON (as JSON.stringify would), failing on what JSON cannot hold. */
export function toJsonObject(value: Record<string, unknown>, what: string): JsonObject {
  const text = JSON.stringify(value);
  const parsed: unknown = text === undefined ? undefined : JSON.parse(text);
  if (!isJsonObject(parsed)) throw new TypeError(`${what} must be a JSON object`);
  return parsed;
}

function identity(text: string): string {
  return text;
}
