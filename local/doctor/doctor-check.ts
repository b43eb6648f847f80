// Layer flow: `npm run doctor` (local/cli/doctor.ts) -> runDoctor -> each check of checks/ -> these shapes. A check
// is one small module: an id users and scripts rely on, where it applies, and a run that returns one finding.
import type { DoctorContext } from './doctor-context';

export type CheckStatus = 'ok' | 'warn' | 'fail';

/** What a check found: one line, and for a warn or a fail what to do about it. */
export interface Finding {
  status: CheckStatus;
  summary: string;
  /** What to do (a command, a setting); null for ok. */
  fix: string | null;
}

/** One line of the report, as `--json` prints it (DESIGN.md: `{"id", "status", "summary", "fix"}`). */
export interface CheckResult extends Finding {
  id: string;
}

/** The whole report: `ok` when no check failed. */
export interface DoctorReport {
  ok: boolean;
  checks: CheckResult[];
}

/** Which stacks a check applies to: the local stack (a data directory) or a deployed one. */
export type TargetKind = 'local' | 'aws';

export interface DoctorCheck {
  /** Stable: scripts and docs name it (docs/operations.md "Is it working?"). */
  readonly id: string;
  readonly targets: readonly TargetKind[];
  run(context: DoctorContext): Promise<Finding>;
}

export const ok = (summary: string): Finding => ({ status: 'ok', summary, fix: null });
export const warn = (summary: string, fix: string): Finding => ({ status: 'warn', summary, fix });
export const fail = (summary: string, fix: string): Finding => ({ status: 'fail', summary, fix });

/**
 * A check that could not look, because what it reads is missing (a prerequisite that another check reports, or a
 * name the command line did not give): a warn, never a fail of its own.
 */
export const notChecked = (why: string, fix: string): Finding => warn(`not checked: ${why}`, fix);

export { NotCheckedError } from './not-checked';
