// Layer flow: domain. The states of a job's health (docs/health.md "The states"), the order in which they show
// when several hold, and the ones that alert by default. Imported by the functions, the CDK app, the CLIs and the
// dashboard's client (no dependency).

export const HEALTH_STATES = ['healthy', 'late', 'failing', 'slow', 'unknown'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

/** When a job is several of these at once, the first one is its state (its reasons list them all). */
const PROBLEM_STATES = ['late', 'failing', 'slow'] as const satisfies readonly HealthState[];

/** The states that e-mail the alert topic unless `alertHealthStates` says otherwise. */
export const DEFAULT_ALERT_HEALTH_STATES = ['late', 'failing'] as const satisfies readonly HealthState[];

/** True for the states that need someone's attention. */
export function needsAttention(state: string): boolean {
  return (PROBLEM_STATES as readonly string[]).includes(state);
}

/** The order jobs are listed in: problems first (late, failing, slow), then unknown, then healthy. */
export function stateRank(state: string): number {
  const order: readonly string[] = [...PROBLEM_STATES, 'unknown', 'healthy'];
  const index = order.indexOf(state);
  return index === -1 ? order.length : index;
}
