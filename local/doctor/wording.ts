// Layer flow: the doctor's checks -> these helpers -> the words of their findings (durations, instants, counts) and
// the AWS errors they tell apart.

/** A duration for people: 45s, 12 min, 3 h 05 min, 24 h, 2 days 4 h. */
export function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48)
    return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days} days` : `${days} days ${hours % 24} h`;
}

/** An instant in UTC to the second: 2026-12-07 14:02:09Z. */
export function instant(at: string | number): string {
  const iso = typeof at === 'number' ? new Date(at).toISOString() : at;
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
}

/** `1 file copy`, `3 file copies`. */
export function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The first line of a message, at most `max` characters. */
export function oneLine(text: string, max = 160): string {
  const line = (text.split('\n')[0] ?? '').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** The name of an AWS SDK error (`ResourceNotFoundException`, `AccessDeniedException`), or undefined. */
export function awsErrorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/** True for the errors of a call the caller's credentials may not make. */
export function isAccessDenied(error: unknown): boolean {
  const name = awsErrorName(error) ?? '';
  return /^(AccessDenied|AccessDeniedException|UnauthorizedOperation|AuthorizationError)$/.test(name);
}
