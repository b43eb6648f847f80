// Layer flow: domain. Durations as people write them in the job expectations ("30m", "24h", "7d") and as the
// health reasons, the CLI and the dashboard print them ("1d 6h"). One grammar, so what is read is what is shown.

const UNITS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;
type Unit = keyof typeof UNITS;

const DURATION = /^(\d{1,6})(s|m|h|d|w)$/;

/** The milliseconds of `30s`, `30m`, `24h`, `7d` or `2w` (a whole number and one unit); undefined otherwise. */
export function parseDurationText(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match?.[1] || !match[2]) return undefined;
  const ms = Number(match[1]) * UNITS[match[2] as Unit];
  return ms > 0 ? ms : undefined;
}

/** A duration for people, in its two largest units: `24h`, `1d 6h`, `45m`, `1m 30s`, `850ms`. */
export function formatDurationText(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1_000) * 1_000;
  // Up to 2 days, hours read better than days ("36h", "24h"); beyond, days and hours.
  const units: Array<[string, number]> =
    rest <= 2 * UNITS.d
      ? [
          ['h', UNITS.h],
          ['m', UNITS.m],
          ['s', UNITS.s],
        ]
      : [
          ['d', UNITS.d],
          ['h', UNITS.h],
          ['m', UNITS.m],
        ];
  for (const [name, size] of units) {
    if (parts.length === 2) break;
    const count = Math.floor(rest / size);
    if (count > 0 || parts.length > 0) {
      if (count > 0) parts.push(`${count}${name}`);
      rest -= count * size;
      if (parts.length > 0 && count === 0) break;
    }
  }
  return parts.length > 0 ? parts.join(' ') : '0s';
}

/** An instant for people, to the minute, in UTC: `2026-12-05 02:00 UTC`. */
export function formatInstantText(iso: string | number): string {
  const date = new Date(iso);
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
