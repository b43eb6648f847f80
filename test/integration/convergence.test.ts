// The convergence suite (invariants 1–4, 6): a large emulated account, executions starting and ending
// between runs, API faults at 10–30 %, DynamoDB and S3 faults at the SDK level, runs killed at random
// points; then clean runs until one finds nothing to do, and the store must equal the API exactly, the
// lake (run after every sync, under the same faults) the store, and the events (read from the table's stream
// after every run, through a sink that refuses entries and an events function that crashes) every status the
// store held, in order (invariant 10).
// Seeded: a failure prints its seed; CONVERGENCE_SEED=<n> replays it. SOAK=1 runs a longer variant.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { discoverFiles } from '#core/executions/file-discovery';
import type { ExecutionItem } from '#core/store/execution-repository';
import { ExecutionRepository } from '#core/store/execution-repository';
import { LAKE_MARK_REUSE_MS, LakeMarks } from '#core/store/lake-marks';
import { SyncStateRepository } from '#core/store/sync-state-repository';
import type { SyncSummary } from '#functions/sync/sync-summary';
import { type Emulator, ManualClock } from '#local/emulator/index';
import { createSeededRandom, type SeededRandom } from '#local/emulator/seeded-random';
import { createEventsHarness, statusesPerExecution } from '../support/events-harness';
import { expectLakeToEqualStore } from '../support/lake-check';
import { createSyncHarness, expectStoreToEqualEmulator } from '../support/sync-harness';

const soak = process.env.SOAK === '1';
const seed = Number(process.env.CONVERGENCE_SEED ?? 20_261_129);
const settings = soak
  ? { executions: 10_000, chaosRuns: 60, maxCleanRuns: 30 }
  : { executions: 2_000, chaosRuns: 20, maxCleanRuns: 20 };

class KilledError extends Error {
  override readonly name = 'KilledError';
}

describe(`convergence (seed ${seed}${soak ? ', soak' : ''})`, () => {
  it('converges to the exact API state through faults, kills and a moving account', {
    timeout: 600_000,
  }, async () => {
    const random = createSeededRandom(`convergence/${seed}`);
    const clock = new ManualClock('2024-05-01T00:00:00.000Z');
    const harness = await createSyncHarness({
      emulator: {
        seed,
        clock,
        maxGeneratedFileBytes: 4 * 1024,
        order: random.pick(['ascending', 'descending', 'insertion', 'shuffled'] as const),
        // Some executions appear in the API only two hours after their createdAt: far beyond the lookback.
        lifecycle: { lateVisibility: { share: 0.03, delayMs: 2 * 3_600_000 } },
      },
      // The audit in every run: it is what finds the late ones, and it must survive the chaos too.
      config: { pageSize: 200, fileCopyConcurrency: 8, auditIntervalMs: 0 },
      client: { retryMaxMs: 1_500, timeoutMs: 1_000 },
      stream: true,
    });
    // The events function on the table's stream: PutEvents refuses some entries, some invocations crash
    // after publishing. Each execution's statuses seen in the store after a run must all be published.
    const events = await createEventsHarness(harness.clients, harness.store.executionsTable);
    // Their own random draws, so that the sync's scenario of a seed does not depend on the events.
    const eventsRandom = createSeededRandom(`convergence-events/${seed}`);
    const storedStatuses = new Map<string, string[]>();
    const publishEvents = async () => {
      events.refuse = () => (eventsRandom.chance(0.05) ? 'ThrottlingException: Rate exceeded' : null);
      events.crashAfterNextInvocation = eventsRandom.chance(0.3);
      await events.drain();
      for (const item of await harness.storedItems()) {
        const statuses = storedStatuses.get(item.id) ?? [];
        if (statuses.at(-1) !== item.status) statuses.push(item.status);
        storedStatuses.set(item.id, statuses);
      }
    };
    const account = createAccount(harness.emulator, random);
    // A month of history: most runs produce no file, some produce several; bursts share one createdAt.
    for (let created = 0; created < settings.executions; ) {
      clock.advance(random.chance(0.05) ? 0 : random.int(1, 40) * 30_000);
      const burst = random.chance(0.01) ? 60 : 1;
      for (let i = 0; i < burst; i++, created++) account.run();
    }
    const context = `seed ${seed} (replay with CONVERGENCE_SEED=${seed})`;
    const summaries: SyncSummary[] = [];
    const figures = {
      killed: 0,
      apiFaults: 0,
      runs: 0,
      leasesLeft: 0,
      lakeFailures: 0,
      events: 0,
      eventDuplicates: 0,
    };
    try {
      for (let run = 0; run < settings.chaosRuns; run++) {
        const rate = 0.1 + random.next() * 0.2;
        harness.emulator.setFaults({
          rate,
          seed: seed + run,
          kinds: ['429', '429-no-retry-after', '500', 'timeout', 'malformed-json', 'truncated-download'],
        });
        harness.sdkFaults.rate = 0.01;
        harness.sdkFaults.random = () => random.next();
        const killAfter = random.chance(0.5) ? random.int(1, 40) : undefined;
        const kill = killAfter ? killing(harness, killAfter) : undefined;
        const sdkFaultsBefore = harness.sdkFaults.injected;
        const summary = await harness.sync({ deps: kill?.deps ?? {} });
        harness.sdkFaults.rate = 0;
        figures.runs += 1;
        // A kill can land in a call whose failure the run tolerates (saving what it learned about the API):
        // the process is gone all the same, so the kill is read from the proxy, not from the summary.
        if (kill?.killed()) {
          figures.killed += 1;
          // A killed run does not give its lease back: the next run waits for it to expire.
          harness.clock.advance(961_000);
        } else if (await leaseHeld(harness)) {
          // Only a DynamoDB fault on the lease's own writes (a release that failed) may leave it behind.
          expect(
            harness.sdkFaults.injected,
            `${context}: a run kept its lease without a fault`,
          ).toBeGreaterThan(sdkFaultsBefore);
          figures.leasesLeft += 1;
          harness.clock.advance(961_000);
        }
        summaries.push(summary);
        if (process.env.CONVERGENCE_TRACE)
          console.info(new Date().toISOString(), 'chaos', run, JSON.stringify(summary));
        expectWellFormedSummary(summary, context);
        await publishEvents();
        // The lake runs after each sync, under the same SDK faults: it may fail, never throw, and its marks stay.
        harness.sdkFaults.rate = 0.01;
        const lake = await harness.lake();
        harness.sdkFaults.rate = 0;
        figures.lakeFailures += lake.daysFailed + (lake.error ? 1 : 0);
        expect(lake.skipped, context).toBe(false);
        expect(lake.complete || lake.daysFailed > 0 || lake.error !== null, context).toBe(true);
        // The account moves on: time passes, runs end, new ones start.
        harness.clock.advance(random.int(1, 30) * 60_000);
        for (let i = random.int(0, 40); i > 0; i--) account.run();
      }
      figures.apiFaults = harness.emulator.requests.filter((request) => request.fault).length;
      harness.emulator.setFaults(undefined);
      let clean = false;
      for (let run = 0; run < settings.maxCleanRuns && !clean; run++) {
        const summary = await harness.sync();
        if (process.env.CONVERGENCE_TRACE)
          console.info(new Date().toISOString(), 'clean', run, JSON.stringify(summary));
        figures.runs += 1;
        summaries.push(summary);
        await publishEvents();
        clean =
          summary.error === null &&
          !summary.moreRemaining &&
          summary.audit?.complete === true &&
          summary.audit.executionsRecovered === 0 &&
          summary.files.failed === 0 &&
          summary.files.copied === 0 &&
          summary.executions.new === 0 &&
          summary.executions.updated === 0 &&
          (await pendingCopies(harness.executions)) === 0;
        // Let file retries come due and open runs end.
        harness.clock.advance(6 * 3_600_000);
      }
      expect(clean, `${context}: no clean run within ${settings.maxCleanRuns} runs`).toBe(true);
      await expectStoreToEqualEmulator(harness);
      // The lake, rewritten from the marks every run left (killed ones included), equals the store.
      expect(await harness.lake(), context).toMatchObject({ complete: true, error: null });
      await expectLakeToEqualStore(harness, context);
      expect(new Set(harness.uploads).size, `${context}: duplicate S3 uploads`).toBe(harness.uploads.length);
      // Every status the store held after a run was published, in the order stored, and each execution's
      // last event is its final status. (A status stored and replaced within one run is published too.)
      events.refuse = () => null;
      await events.drain();
      const published = statusesPerExecution(events.published);
      for (const [id, statuses] of storedStatuses) {
        const sequence = published.get(id) ?? [];
        let at = 0;
        for (const status of sequence) if (status === statuses[at]) at += 1;
        expect(
          at,
          `${context}: events of ${id} were ${sequence.join(' > ')}, stored ${statuses.join(' > ')}`,
        ).toBe(statuses.length);
        expect(sequence.at(-1), context).toBe(statuses.at(-1));
      }
      expect(published.size, context).toBe(storedStatuses.size);
      figures.events = events.published.length;
      figures.eventDuplicates =
        events.published.length - new Set(events.published.map((e) => e.detail.eventId)).size;
      const truth = harness.emulator.executions();
      if (process.env.CONVERGENCE_TRACE) console.info('executions', truth.length);
      const files = truth.flatMap((execution) => discoverFiles(execution)).length;
      expect(truth.length).toBeGreaterThanOrEqual(2_000);
      expect(files).toBeGreaterThanOrEqual(200);
      expect(figures.killed, context).toBeGreaterThan(0);
      expect(harness.sdkFaults.injected, context).toBeGreaterThan(0);
      // The faults did hit file copies, and the audit did find executions that appeared late.
      expect(
        harness.emulator.requests.some(
          (request) => request.endpoint === 'download' && request.fault !== undefined,
        ),
        context,
      ).toBe(true);
      const recovered = summaries.reduce(
        (sum, summary) => sum + (summary.audit?.executionsRecovered ?? 0),
        0,
      );
      const late = harness.emulator.allExecutions().length - truth.length;
      expect(late, `${context}: every late execution is visible by now`).toBe(0);
      expect(recovered, `${context}: executions the audit recovered`).toBeGreaterThan(0);
      console.info(
        `convergence ${context}: ${figures.runs} runs (${figures.killed} killed, ${figures.leasesLeft} left their lease after a fault), ${figures.apiFaults} API faults, ` +
          `${harness.sdkFaults.injected} SDK faults (${figures.lakeFailures} lake days failed and retried), ${truth.length} executions (${recovered} recovered by audits) ` +
          `and ${files} files verified, ${figures.events} events published (${figures.eventDuplicates} redelivered), nothing lost`,
      );
    } finally {
      await events.close();
      await harness.close();
    }
  });
});

/** An account with jobs on six pipelines: three without files, three producing files of both kinds. */
function createAccount(emulator: Emulator, random: SeededRandom) {
  const quiet = ['Sync Prices', 'Refresh Stock', 'Recompute Scores'].map((title) =>
    emulator.addJob({ title, kind: 'no-files' }),
  );
  const withFiles = [
    emulator.addJob({ title: 'Export Products to Amazon', kind: 'export' }),
    emulator.addJob({ title: 'Import Products from Supplier', kind: 'import-with-file' }),
    emulator.addJob({ title: 'Generate Media Thumbnails', kind: 'media' }),
  ];
  const outcomes = [
    'COMPLETED',
    'COMPLETED',
    'COMPLETED',
    'COMPLETED',
    'USER_ERROR',
    'FAILED',
    'TERMINATED',
    'TIMEDOUT',
  ] as const;
  return {
    run: () => {
      const job = random.chance(0.08) ? random.pick(withFiles) : random.pick(quiet);
      emulator.createExecution(
        job.id,
        {},
        { runTimeMs: random.int(1, 1_200) * 1_000, outcome: random.pick(outcomes) },
      );
    },
  };
}

/** Dependencies that throw KilledError at the n-th store call and never give the lease back. */
function killing(harness: Awaited<ReturnType<typeof createSyncHarness>>, afterCalls: number) {
  let calls = 0;
  const tick = () => {
    if (++calls >= afterCalls) throw new KilledError(`killed after ${afterCalls} store calls`);
  };
  // Wired as the sync handler wires it: every write marks its day for the lake first.
  const executions = new ExecutionRepository(harness.clients.doc, harness.store.executionsTable, {
    marks: new LakeMarks(harness.clients.doc, harness.store.stateTable, {
      now: () => harness.clock.now(),
      reuseMs: LAKE_MARK_REUSE_MS,
    }),
  });
  const state = new SyncStateRepository(harness.clients.doc, harness.store.stateTable);
  const wrap = <T extends object>(target: T, passThrough: string[] = []): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        const value = Reflect.get(object, property, receiver);
        if (typeof value !== 'function') return value;
        if (passThrough.includes(String(property))) return value.bind(object);
        return (...args: unknown[]) => {
          tick();
          return value.apply(object, args);
        };
      },
    });
  const deps = {
    executions: wrap(executions),
    state: new Proxy(wrap(state, ['acquireLease']), {
      get(object, property, receiver) {
        // A killed process never reaches its `finally`: the lease stays until it expires.
        if (property === 'releaseLease') {
          return async (owner: string) => (calls >= afterCalls ? undefined : state.releaseLease(owner));
        }
        return Reflect.get(object, property, receiver);
      },
    }),
  };
  return { deps, killed: () => calls >= afterCalls };
}

async function leaseHeld(harness: Awaited<ReturnType<typeof createSyncHarness>>): Promise<boolean> {
  const { Item } = await harness.clients.doc.send(
    new GetCommand({ TableName: harness.store.stateTable, Key: { name: 'lease' }, ConsistentRead: true }),
  );
  return Item !== undefined && Number(Item.expiresAt) > harness.clock.now();
}

async function pendingCopies(executions: ExecutionRepository): Promise<number> {
  let pending = 0;
  for await (const item of executions.listFilesDue('9999-12-31T00:00:00.000Z'))
    pending += (item as ExecutionItem).files.length;
  return pending;
}

/** A run under faults still ends with its whole summary: counts, and an error only with work remaining. */
function expectWellFormedSummary(summary: SyncSummary, context: string): void {
  const counts = [
    ...Object.values(summary.executions),
    ...Object.values(summary.files),
    summary.apiRequests,
    summary.throttled,
    summary.durationMs,
  ];
  expect(
    counts.every((count) => Number.isInteger(count) && count >= 0),
    context,
  ).toBe(true);
  expect(summary.skipped, context).toBe(false);
  if (summary.error !== null) {
    expect(typeof summary.error, context).toBe('string');
    expect(summary.moreRemaining, `${context}: a failed run says work remains`).toBe(true);
  }
}
