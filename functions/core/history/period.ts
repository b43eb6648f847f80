// Layer flow: CLI flags (or a notebook's arguments) -> this module -> the Period every history query takes.
// A period is half-open, `since <= createdAt < until`, each bound optional (unbounded), so that consecutive
// periods never count an execution twice. Bounds are instants in UTC, normalised like the stored createdAt.
import { HistoryInputError } from './history.errors';

/** A half-open period of createdAt instants (normalised ISO strings); an absent bound is unbounded. */
export interface Period {
  since?: string;
  until?: string;
}

const UNIT_MS: Readonly<Record<string, number>> = {
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

const RELATIVE = /^(\d{1,7})([mhdw])$/;
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** The instants a bound may name: the history holds nothing before 1970, and ISO dates end with year 9999. */
const EARLIEST_MS = Date.UTC(1970, 0, 1);
const LATEST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * Parses one period bound: an ISO date (`2024-05-01`, UTC midnight), an ISO date-time (`2024-05-01T08:00`,
 * UTC unless it carries an offset), or an age relative to `now`: `30m`, `24h`, `7d`, `2w`.
 * Returns the instant as a normalised ISO string; `flag` names the bound in the error.
 */
export function parseTimeBound(text: string, now: number, flag = 'time'): string {
  const value = text.trim();
  const relative = RELATIVE.exec(value.toLowerCase());
  if (relative) {
    const amount = Number(relative[1]);
    const unit = UNIT_MS[relative[2] ?? ''] ?? 0;
    return withinRange(now - amount * unit, text, flag);
  }
  const iso = ISO.exec(value);
  if (iso) {
    const [, year, month, day, hour, minute, second, zone] = iso;
    const text = zone || !hour ? value.replace(' ', 'T') : `${value.replace(' ', 'T')}Z`;
    const parsed = Date.parse(text);
    // Date.parse rolls 2024-02-30 over to March: only accept a calendar date that exists.
    const calendar = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
    const exists =
      calendar.getUTCFullYear() === Number(year) &&
      calendar.getUTCMonth() === Number(month) - 1 &&
      calendar.getUTCDate() === Number(day) &&
      Number(hour ?? 0) < 24 &&
      Number(minute ?? 0) < 60 &&
      Number(second ?? 0) < 60;
    if (exists && Number.isFinite(parsed)) return withinRange(parsed, text, flag);
  }
  throw new HistoryInputError(
    `${flag} must be an ISO date or date-time (2024-05-01, 2024-05-01T08:00:00Z) or an age such as 30m, 24h, 7d, 2w; got "${text}"`,
  );
}

function withinRange(ms: number, text: string, flag: string): string {
  if (!(ms >= EARLIEST_MS && ms <= LATEST_MS)) {
    throw new HistoryInputError(
      `${flag} must lie between 1970-01-01 and 9999-12-31 (the history holds nothing earlier); got "${text}"`,
    );
  }
  return new Date(ms).toISOString();
}

export interface PeriodInput {
  /** A bound accepted by parseTimeBound, or `all` for no lower bound; absent: `defaultSince`. */
  since?: string;
  /** A bound accepted by parseTimeBound; absent: unbounded. */
  until?: string;
  /** Used when `since` is absent (same forms); absent: all time. */
  defaultSince?: string;
}

/** Resolves `--since` / `--until` into a Period, relative to `now`; since must come before until. */
export function resolvePeriod(input: PeriodInput, now: number): Period {
  const sinceText = input.since ?? input.defaultSince;
  const period: Period = {};
  if (sinceText !== undefined && sinceText.trim().toLowerCase() !== 'all') {
    period.since = parseTimeBound(sinceText, now, '--since');
  }
  if (input.until !== undefined) period.until = parseTimeBound(input.until, now, '--until');
  if (period.since && period.until && period.since >= period.until) {
    throw new HistoryInputError(
      `--since (${period.since}) must be before --until (${period.until}): the period is empty`,
    );
  }
  return period;
}

/** True when the normalised ISO instant lies in the period. */
export function inPeriod(createdAt: string, period: Period): boolean {
  return (!period.since || createdAt >= period.since) && (!period.until || createdAt < period.until);
}

/** The inclusive createdAt range of a period, for a sort-key BETWEEN (ISO strings order like instants). */
export function periodKeyRange(period: Period): { from: string; to: string } {
  return {
    from: period.since ?? '0000-01-01T00:00:00.000Z',
    to: period.until ? new Date(Date.parse(period.until) - 1).toISOString() : '9999-12-31T23:59:59.999Z',
  };
}

/** The months ("YYYY-MM") from `first` to `last` inclusive, oldest first. */
export function monthsBetween(first: string, last: string): string[] {
  const months: string[] = [];
  let year = Number(first.slice(0, 4));
  let month = Number(first.slice(5, 7));
  const end = last.slice(0, 7);
  for (;;) {
    const current = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`;
    if (current > end) return months;
    months.push(current);
    month += 1;
    if (month > 12) {
      month = 1;
      year += 1;
    }
  }
}
