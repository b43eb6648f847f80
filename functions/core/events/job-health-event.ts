// Layer flow: domain. What a change of a job's health state becomes as an event (docs/events.md "Job Health
// Change"): the application's source, the detail-type `Job Health Change`, and a detail built from the job's
// health record. Published by the sync's health pass, at least once, deduplicable by `eventId`.
import type { HealthState } from '../health/health-states';
import { EVENT_SOURCE } from './execution-event';

export const JOB_HEALTH_DETAIL_TYPE = 'Job Health Change';

/** The `detail` of a health-change event. */
export interface JobHealthEventDetail {
  /** `<jobId>:<state>:<stateSince>`: the same for every delivery of one change. */
  eventId: string;
  jobId: string;
  title: string | null;
  state: HealthState;
  /** null the first time the job is evaluated. */
  previousState: HealthState | null;
  reasons: string[];
  /** The first of `reasons`, the one that explains the state (what the alert e-mail quotes). */
  reason: string;
  lastRunAt: string | null;
  lastSuccessAt: string | null;
  /** With no new run by then, the job is late (null when lateness is not judged). */
  expectedBy: string | null;
  consecutiveFailures: number;
  usualIntervalMs: number | null;
  /** When the state changed (the evaluation that found it). */
  stateSince: string;
}

export interface JobHealthEvent {
  source: typeof EVENT_SOURCE;
  detailType: typeof JOB_HEALTH_DETAIL_TYPE;
  /** When the change was found. */
  time: string;
  detail: JobHealthEventDetail;
}

/** The event id of a change: a job's state and when it was entered. */
export function healthEventId(jobId: string, state: HealthState, stateSince: string): string {
  return `${jobId}:${state}:${stateSince}`;
}

/** The event of a detail. */
export function jobHealthEvent(detail: JobHealthEventDetail): JobHealthEvent {
  return { source: EVENT_SOURCE, detailType: JOB_HEALTH_DETAIL_TYPE, time: detail.stateSince, detail };
}
