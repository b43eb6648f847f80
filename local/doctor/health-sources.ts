// Layer flow: the checks sync.run-errors and jobs.health -> these sources -> the state table of the store doctor
// opened (local or deployed): its sync run records (SyncRunRepository) and its job health records
// (JobHealthRepository), each listed by one Query of the index byKind, never a Scan; plus one GetItem for when the
// jobs were last evaluated. Read-only, and no Product-Live request.
import { JobHealthRepository } from '#core/store/job-health-repository';
import { SyncRunRepository } from '#core/store/sync-run-repository';
import { STATE_INDEXES } from '#core/store/table-definitions';
import type { Store } from '../store/open-store';
import { NotCheckedError } from './not-checked';

/** One sync run as the state table keeps it (`sync_runs`): when it started and how it ended. */
export interface SyncRunRecord {
  startedAt: string;
  /** Why the run stopped early, when it failed; null when it ended ok. */
  error: string | null;
}

export interface SyncRunsSource {
  /** The runs started at or after `sinceIso` that did work (runs skipped for the lease left out), newest first. */
  runsSince(sinceIso: string): Promise<readonly SyncRunRecord[]>;
}

/** A job's health state and its reasons, as `npm run history -- health` shows them. */
export interface JobHealthRecord {
  jobId: string;
  title: string | null;
  state: 'healthy' | 'late' | 'failing' | 'slow' | 'unknown';
  /** Every reason in words; the first explains the state. */
  reasons: readonly string[];
  /** Its last ended runs did not complete, up to its limit: true also when late shows first (late and failing). */
  failing: boolean;
}

export interface JobHealth {
  jobs: readonly JobHealthRecord[];
  /** When the sync last evaluated every job; null before its first evaluation. */
  evaluatedAt: string | null;
}

export interface JobHealthSource {
  /** Every job's health as the sync's last evaluation left it. */
  read(): Promise<JobHealth>;
}

/** The sync runs kept in the state table of the store (`store` opens it, once, as the context does). */
export function storeSyncRuns(store: () => Promise<Store>): SyncRunsSource {
  return {
    async runsSince(sinceIso) {
      const repository = new SyncRunRepository(...(await stateTableOf(store)));
      const runs: SyncRunRecord[] = [];
      await readingIndex(async () => {
        // Up to the end of time: a run the sync's clock started a little after this machine's now counts too.
        for await (const run of repository.listBetween(sinceIso, END_OF_TIME)) {
          if (run.result === 'skipped') continue;
          runs.push({
            startedAt: run.startedAt,
            error: run.result === 'failed' ? (run.error ?? 'failed') : null,
          });
        }
      });
      return runs.reverse();
    },
  };
}

/** The job health records in the state table of the store. */
export function storeJobHealth(store: () => Promise<Store>): JobHealthSource {
  return {
    async read() {
      const repository = new JobHealthRepository(...(await stateTableOf(store)));
      const [records, evaluated] = await readingIndex(() =>
        Promise.all([repository.listAll(), repository.getEvaluated()]),
      );
      return {
        jobs: records.map(({ jobId, facts, evaluation }) => ({
          jobId,
          title: facts.title,
          state: evaluation.state,
          reasons: evaluation.reasons,
          failing:
            evaluation.state === 'failing' ||
            (evaluation.maxConsecutiveFailures > 0 &&
              evaluation.consecutiveFailures >= evaluation.maxConsecutiveFailures),
        })),
        evaluatedAt: evaluated?.evaluatedAt ?? null,
      };
    },
  };
}

const END_OF_TIME = '9999-12-31T23:59:59.999Z';

async function stateTableOf(store: () => Promise<Store>): Promise<[Store['doc'], string]> {
  const opened = await store();
  const table = opened.names.stateTable;
  if (!table) {
    throw new NotCheckedError(
      'needs the state table',
      opened.kind === 'aws'
        ? 'pass --state-table NAME (or env STATE_TABLE_NAME), or --stack NAME'
        : 'see local.data-dir',
    );
  }
  return [opened.doc, table];
}

/** A state table without the index byKind was created by code older than job health: not checked, say so. */
async function readingIndex<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof Error && error.name === 'ValidationException' && /index/i.test(error.message)) {
      throw new NotCheckedError(
        `the state table has no index ${STATE_INDEXES.byKind} (created by code older than job health and sync_runs)`,
        'deploy this checkout (npx cdk deploy --all), or locally run npm start once on this data directory',
      );
    }
    throw error;
  }
}
