// Layer flow: `npm run doctor` -> these renderers -> stdout: one line a check (`ok`, `warn`, `FAIL`, its id and
// finding), the fix beneath each warn and fail, a count at the end; or the report as JSON (`--json`).
import type { CheckResult, DoctorReport } from './doctor-check';

const LABELS = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' } as const;

/** The width of the id column (the longest id). */
const ID_WIDTH = 16;

/** One check's lines. */
export function renderResult(result: CheckResult): string {
  const line = `${LABELS[result.status]}  ${result.id.padEnd(ID_WIDTH)}  ${result.summary}`;
  return result.fix ? `${line}\n${' '.repeat(6 + ID_WIDTH + 2)}fix: ${result.fix}` : line;
}

/** The closing line: how many of each. */
export function renderTotals(report: DoctorReport): string {
  const of = (status: CheckResult['status']) =>
    report.checks.filter((check) => check.status === status).length;
  const [failed, warned, passed] = [of('fail'), of('warn'), of('ok')];
  const verdict =
    failed > 0
      ? 'something is broken'
      : warned > 0
        ? 'working, with warnings'
        : 'everything checked is working';
  return `${passed} ok, ${warned} warning${warned === 1 ? '' : 's'}, ${failed} failed: ${verdict}`;
}

/** `--json`: exactly `{"ok", "checks": [{"id", "status", "summary", "fix"}]}`. */
export function renderJson(report: DoctorReport): string {
  return `${JSON.stringify(
    {
      ok: report.ok,
      checks: report.checks.map(({ id, status, summary, fix }) => ({ id, status, summary, fix })),
    },
    null,
    2,
  )}\n`;
}
