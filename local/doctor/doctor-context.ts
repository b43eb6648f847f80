// Layer flow: runDoctor -> a DoctorContext (local-target.ts or deployed-target.ts) -> the checks. What the checks read
// is fetched once and shared (the store, the state table's items, the sync's cadence); every read is lazy, so a
// check that does not apply costs nothing.
import type { FetchLike } from '#core/product-live/product-live-client';
import type { Store } from '../store/open-store';
import type { DeployedTarget } from './deployed-target';
import type { JobHealthSource, SyncRunsSource } from './health-sources';
import type { LocalTarget } from './local-target';
import type { StateSnapshot } from './state-snapshot';

/** How the sync runs, as far as the checks judge ages by it. */
export interface SyncCadence {
  /**
   * True when something runs the sync on a schedule now (an enabled deployed schedule, a running `npm start`); a
   * stopped local stack's store is expected to age, so ages are not judged then.
   */
  scheduled: boolean;
  /** Time between runs (null: unknown, or one run only). */
  everyMs: number | null;
  /** The sync's lease: also the longest a run takes. */
  leaseMs: number;
  /** Time between completeness audits (SYNC_AUDIT_INTERVAL_SECONDS). */
  auditIntervalMs: number;
  /** Time between lake runs (deployed: its schedule; locally the lake runs after each sync). */
  lakeEveryMs: number | null;
  /** What runs it, for people: `the schedule ProductLiveSync-…`, `npm start (every 60s)`. */
  runner: string;
}

/** The commands a fix names, for this target: the store flags and how to run the sync once. */
export interface FixCommands {
  /** The store flags of the history commands (`--data-dir .local`, `--stack ProductLiveSync`). */
  storeFlags: string;
  /** How to run one sync now with a request (`{"retryFailedFiles": true}`, `{"audit": true}`). */
  syncNow(request?: { audit?: boolean; retryFailedFiles?: boolean }): string;
  /** Where the sync's log lines are. */
  syncLogs: string;
}

export interface DoctorOptions {
  /** Send the one Product-Live request of the key's check (`--no-api` turns it off). */
  api: boolean;
  /** Run `count(*)` through the Athena workgroup (`--athena`: it costs a query). */
  athena: boolean;
}

export interface DoctorContext {
  readonly target: LocalTarget | DeployedTarget;
  readonly options: DoctorOptions;
  readonly fixes: FixCommands;
  now(): number;
  /** The store, opened once; a NotCheckedError when it cannot be (the check that owns it reports why). */
  store(): Promise<Store>;
  /** The state table's items, read once; a NotCheckedError without a state table. */
  state(): Promise<StateSnapshot>;
  cadence(): Promise<SyncCadence>;
  /** The sync's runs kept as data (`sync_runs`): the state table's sync run records. */
  readonly syncRuns: SyncRunsSource;
  /** The jobs' health: the state table's job health records, as the sync's last evaluation left them. */
  readonly jobHealth: JobHealthSource;
  /** The transport of the one Product-Live request (tests pass a fake responder; default the global fetch). */
  readonly fetch?: FetchLike;
}
