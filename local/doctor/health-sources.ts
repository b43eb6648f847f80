// Layer flow: the checks sync.run-errors and jobs.health -> these sources -> the sync's runs kept as data
// (`sync_runs`) and the jobs' health (issue 26). This version keeps neither: both sources answer `undefined`, and the
// checks say "not available in this version". Wiring them is one source each, passed to runDoctor.

/** One sync run as `sync_runs` keeps it: when it started and how it ended. */
export interface SyncRunRecord {
  startedAt: string;
  /** Why the run stopped early, when it failed; null when it ended ok. */
  error: string | null;
}

export interface SyncRunsSource {
  /** The runs started at or after `sinceIso`, newest first; undefined when this store keeps no runs. */
  runsSince(sinceIso: string): Promise<readonly SyncRunRecord[] | undefined>;
}

/** A job's health state and its reasons, as `npm run history -- health` shows them. */
export interface JobHealthRecord {
  jobId: string;
  title: string | null;
  state: 'healthy' | 'late' | 'failing' | 'slow' | 'unknown';
  reasons: readonly string[];
}

export interface JobHealthSource {
  /** Every job's state; undefined when this store evaluates no health. */
  jobs(): Promise<readonly JobHealthRecord[] | undefined>;
}

/** The sources of a version without `sync_runs` and job health. */
export const UNAVAILABLE_SYNC_RUNS: SyncRunsSource = { runsSince: async () => undefined };
export const UNAVAILABLE_JOB_HEALTH: JobHealthSource = { jobs: async () => undefined };
