// task-callbacks: a launch followed to its end (issue 25) on the whole local stack (startLocalStack: the launch
// queue's poller and the launch function, a follow pass every few seconds, the executions table's stream read
// into the events and callbacks functions after each pass), with Step Functions played by a client that records
// each callback beside writing the local callbacks file. Two figures: the time from sending a launch message
// with a task token to its SendTaskSuccess (median, p95), for short jobs on the emulator's system clock; and the
// Product-Live API requests of one follow pass with 0, 1, 10 and 100 open awaited executions.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { TaskCallbackClient } from '#core/callbacks/task-callbacks';
import type { FollowSummary } from '#functions/follow/run-follow';
import type { Emulator } from '#local/emulator/index';
import { createSeededRandom } from '#local/emulator/seeded-random';
import { nearestRank } from '#local/history/percentiles';
import { fileTaskCallbacks, TASK_CALLBACKS_FILE } from '#local/stack/file-task-callbacks';
import { startLocalStack } from '#local/stack/local-stack';
import { queueDepth } from '#local/stack/sqs-launch-poller';
import { parseBenchArgs } from './support/bench-args';
import type { Benchmark, BenchReport, Check, Figure } from './support/bench-report';
import { formatDuration } from './support/bench-report';
import { BenchResources } from './support/bench-resources';

/** The local stack's follow interval (local/stack/local-stack.ts FOLLOW_INTERVAL_MS): passes this far apart. */
const LOCAL_FOLLOW_INTERVAL_MS = 5_000;
/** Open awaited executions of the request-count passes. */
const OPEN_COUNTS = [1, 10, 100] as const;
/** Run time of the executions that stay open during the request-count passes. */
const LONG_RUN_MS = 60 * 60_000;
/**
 * The launch function's own budget. The default (10 a minute) would make launches sent every few seconds wait
 * for it, which is not what this measures; the emulator's 50 requests a minute still applies to part 1.
 */
const LAUNCH_BUDGET_PER_MINUTE = 1_000;

const percentile = (values: readonly number[], percent: number) =>
  nearestRank(
    [...values].sort((a, b) => a - b),
    percent,
  ) ?? Number.NaN;

interface RecordedCallback {
  action: 'success' | 'failure' | 'heartbeat';
  token: string;
  at: number;
  output?: string;
}

/** Step Functions' stand-in: records every call, then writes the local stack's callbacks file as it would. */
function recordingCallbacks(file: string, calls: RecordedCallback[]): TaskCallbackClient {
  const inner = fileTaskCallbacks(file);
  return {
    success: (token, output) => {
      calls.push({ action: 'success', token, at: Date.now(), output });
      return inner.success(token, output);
    },
    failure: (token, error, cause) => {
      calls.push({ action: 'failure', token, at: Date.now() });
      return inner.failure(token, error, cause);
    },
    heartbeat: (token) => {
      calls.push({ action: 'heartbeat', token, at: Date.now() });
      return inner.heartbeat(token);
    },
  };
}

async function waitUntil(what: string, timeoutMs: number, done: () => boolean | Promise<boolean>) {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${formatDuration(timeoutMs)} waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Follow passes as the local stack reports them (onFollow), with the instant each one was reported. */
class PassLog {
  readonly passes: Array<{ at: number; summary: FollowSummary }> = [];
  private waiters: Array<() => void> = [];

  record(summary: FollowSummary): void {
    this.passes.push({ at: Date.now(), summary });
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Resolves with the next pass reported after this call. */
  next(timeoutMs = 4 * LOCAL_FOLLOW_INTERVAL_MS): Promise<{ at: number; summary: FollowSummary }> {
    const count = this.passes.length;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no follow pass came')), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(this.passes[count] as { at: number; summary: FollowSummary });
      });
    });
  }
}

/** Product-Live requests the emulator received in (from, to]. */
const requestsBetween = (emulator: Emulator, from: number, to: number) =>
  emulator.requests.filter((request) => request.at > from && request.at <= to);

export const benchmark: Benchmark = {
  name: 'task-callbacks',
  title: 'launch → SendTaskSuccess on the local stack, and API requests per follow pass with 0 to 100 open',
  async run(args): Promise<BenchReport> {
    const { mode, values } = parseBenchArgs(args, {
      launches: { full: 30, quick: 8, description: 'launch messages with a task token (latency part)' },
      'run-ms': { full: 1_000, quick: 1_000, min: 0, description: "each launched job's run time, in ms" },
      'gap-ms': {
        full: 3_000,
        quick: 2_000,
        description: 'mean time between two launch messages (each gap drawn uniformly in 0 .. 2 × this)',
      },
    });
    const resources = new BenchResources();
    const dataDir = await mkdtemp(join(tmpdir(), 'bench-task-callbacks-'));
    resources.defer('temporary directory', () => rm(dataDir, { recursive: true, force: true }));
    try {
      const calls: RecordedCallback[] = [];
      const stack = await startLocalStack({
        dataDir,
        // Free ports: the benchmark must not meet a running `npm start`.
        ports: { emulator: 0, dynamodb: 0, s3: 0, sqs: 0 },
        demo: { seed: 1, executions: 0 },
        settings: { LAUNCH_REQUESTS_PER_MINUTE: String(LAUNCH_BUDGET_PER_MINUTE) },
        logLevel: 'SILENT',
        taskCallbacks: recordingCallbacks(join(dataDir, TASK_CALLBACKS_FILE), calls),
      });
      resources.defer('local stack', () => stack.stop());
      const emulator = stack.emulator as Emulator;
      const sqs = new SQSClient({
        region: stack.state.region,
        credentials: { ...stack.state.credentials },
        endpoint: stack.state.endpoints.sqs,
      });
      resources.defer('SQS client', async () => sqs.destroy());
      const queueUrl = stack.state.queues.launchUrl;
      const send = (body: Record<string, unknown>) =>
        sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(body) }));
      const launchProblems: string[] = [];
      const passes = new PassLog();
      stack.startLauncher(
        (stats) => {
          if (stats.error) launchProblems.push(stats.error);
        },
        (summary) => passes.record(summary),
      );

      // Part 1: launches with task tokens at random instants (the follow timer's phase is not theirs), each job
      // ending on its own after `run-ms`; the time from sending to the success callback.
      const shortJob = emulator.addJob({
        title: 'Import (bench)',
        kind: 'import',
        runTimeMs: values['run-ms'],
        outcome: 'COMPLETED',
      });
      const random = createSeededRandom('bench-task-callbacks');
      const sentAt = new Map<string, number>();
      const part1Started = Date.now();
      for (let index = 0; index < values.launches; index++) {
        if (index > 0)
          await new Promise((resolve) => setTimeout(resolve, random.next() * 2 * values['gap-ms']));
        const token = `bench-token-${index}`;
        sentAt.set(token, Date.now());
        await send({ jobId: shortJob.id, idempotencyKey: `bench-${index}`, taskToken: token });
      }
      const answered = () =>
        new Set(
          calls.filter((call) => call.action !== 'heartbeat' && sentAt.has(call.token)).map((c) => c.token),
        );
      await waitUntil('every launch’s callback', 5 * 60_000, () => answered().size === sentAt.size);
      const part1Ended = Date.now();

      const latencies: number[] = [];
      const toStart: number[] = [];
      const running: number[] = [];
      const afterEnd: number[] = [];
      let filesPerResult = 0;
      let failures = 0;
      let uncopied = 0;
      for (const [token, sent] of sentAt) {
        const success = calls.find((call) => call.action === 'success' && call.token === token);
        if (!success) {
          failures += 1;
          continue;
        }
        const output = JSON.parse(success.output ?? '{}') as {
          createdAt: string;
          endedAt: string | null;
          files: Array<{ status: string }>;
        };
        const created = Date.parse(output.createdAt);
        const ended = Date.parse(output.endedAt ?? '');
        latencies.push(success.at - sent);
        toStart.push(created - sent);
        running.push(ended - created);
        afterEnd.push(success.at - ended);
        filesPerResult += output.files.length;
        uncopied += output.files.filter((file) => file.status !== 'copied').length;
      }
      const duplicateSuccesses =
        calls.filter((call) => call.action === 'success' && sentAt.has(call.token)).length - latencies.length;
      const part1Passes = passes.passes.filter((pass) => pass.at > part1Started && pass.at <= part1Ended);
      const workingPasses = part1Passes.filter((pass) => pass.summary.followed > 0);
      const passGaps = part1Passes
        .slice(1)
        .map((pass, index) => pass.at - (part1Passes[index]?.at ?? pass.at));
      const part1Requests = requestsBetween(emulator, part1Started, part1Ended);
      const throttled = part1Requests.filter((request) => request.status === 429).length;

      // Part 2: the requests of one pass. None open first: every execution of part 1 has ended and is settled.
      // Then 1, 10 and 100 open awaited executions (task tokens, a run time of an hour). A pass's requests are
      // those the emulator received between the report of the pass before it and its own, with nothing else
      // running (the launch queue is drained first).
      const idleFrom = await passes.next();
      let idleTo = idleFrom;
      for (let i = 0; i < 2; i++) idleTo = await passes.next();
      const idle = {
        passes: 2,
        followed: passes.passes
          .filter((pass) => pass.at > idleFrom.at && pass.at <= idleTo.at)
          .reduce((sum, pass) => sum + pass.summary.followed, 0),
        requests: requestsBetween(emulator, idleFrom.at, idleTo.at).length,
      };
      // Only the setup of these passes: 99 launches in a few seconds, which the 50 a minute would spread over two.
      emulator.setRateLimit(false);
      const longJob = emulator.addJob({
        title: 'Import (bench, long)',
        kind: 'import',
        runTimeMs: LONG_RUN_MS,
        outcome: 'COMPLETED',
      });
      const perPass: Array<{
        open: number;
        followed: number;
        apiRequests: number;
        emulatorRequests: number;
        endpoints: string;
        heartbeats: number;
        passMs: number;
      }> = [];
      let launched = 0;
      for (const open of OPEN_COUNTS) {
        for (; launched < open; launched++) {
          await send({
            jobId: longJob.id,
            idempotencyKey: `open-${launched}`,
            taskToken: `open-token-${launched}`,
          });
        }
        const ofLongJob = () =>
          emulator.executions().filter((execution) => execution.jobId === longJob.id).length;
        await waitUntil(`${open} open executions`, 3 * 60_000, async () => {
          if (ofLongJob() < open) return false;
          const depth = await queueDepth(sqs, queueUrl);
          return depth.visible === 0 && depth.invisible === 0;
        });
        const before = await passes.next();
        const pass = await passes.next();
        const received = requestsBetween(emulator, before.at, pass.at);
        perPass.push({
          open,
          followed: pass.summary.followed,
          apiRequests: pass.summary.apiRequests,
          emulatorRequests: received.length,
          endpoints: [...new Set(received.map((request) => request.endpoint))].join(', ') || 'none',
          heartbeats: calls.filter(
            (call) => call.action === 'heartbeat' && call.at > before.at && call.at <= pass.at,
          ).length,
          passMs: pass.summary.durationMs,
        });
      }
      const launchedOpen = emulator.executions().filter((execution) => execution.jobId === longJob.id).length;

      const median = percentile(latencies, 50);
      const p95 = percentile(latencies, 95);
      const medianAfterEnd = percentile(afterEnd, 50);
      const medianToStart = percentile(toStart, 50);
      const medianRunning = percentile(running, 50);
      const checks: Check[] = [
        {
          label: 'every launch answered with SendTaskSuccess, its files copied',
          ok: failures === 0 && latencies.length === values.launches && uncopied === 0 && filesPerResult > 0,
          detail: `${latencies.length} successes, ${failures} failures, ${filesPerResult} files in the outputs (${uncopied} not copied), ${duplicateSuccesses} duplicate successes`,
        },
        {
          label: 'no launch problem, no 429 during the latency part',
          ok: launchProblems.length === 0 && throttled === 0,
          detail: `${launchProblems.length} failed launch batches${launchProblems[0] ? ` (${launchProblems[0]})` : ''}, ${throttled} 429s`,
        },
        {
          label: 'each counted pass followed exactly the open executions, one heartbeat each',
          ok:
            launchedOpen === OPEN_COUNTS.at(-1) &&
            perPass.every((pass) => pass.followed === pass.open && pass.heartbeats === pass.open) &&
            idle.followed === 0,
          detail: perPass
            .map((pass) => `${pass.open} open: followed ${pass.followed}, ${pass.heartbeats} heartbeats`)
            .join('; '),
        },
        {
          label: "the emulator's count agrees with the follow function's",
          ok: perPass.every((pass) => pass.apiRequests === pass.emulatorRequests),
          detail: perPass
            .map(
              (pass) => `${pass.open} open: ${pass.emulatorRequests} received, ${pass.apiRequests} counted`,
            )
            .join('; '),
        },
      ];
      const dominant = [
        {
          part: 'waiting for the next follow pass, the pass and the stream after the job ended',
          ms: medianAfterEnd,
        },
        { part: "the job's own run time", ms: medianRunning },
        { part: 'queue pickup and the launch function', ms: medianToStart },
      ].sort((a, b) => b.ms - a.ms)[0] as { part: string; ms: number };
      const requestFigures: Figure[] = [
        {
          key: 'requestsNoneOpen',
          label: 'API requests per follow pass, none open',
          value: idle.requests / idle.passes,
          unit: '',
          goal: { comparison: '=', target: 0 },
        },
        ...perPass.map(
          (pass): Figure => ({
            key: `requestsOpen${pass.open}`,
            label: `API requests per follow pass, ${pass.open} open awaited`,
            value: pass.emulatorRequests,
            unit: '',
            goal: { comparison: '=', target: 1 },
          }),
        ),
      ];
      return {
        title: benchmark.title,
        mode,
        parameters: {
          'launches with a task token': values.launches,
          "job run time (emulator's system clock)": formatDuration(values['run-ms']),
          'job kind': 'import (a report file to copy per run)',
          'mean gap between launches (uniform 0 .. 2×)': formatDuration(values['gap-ms']),
          'follow interval (local stack)': formatDuration(LOCAL_FOLLOW_INTERVAL_MS),
          'follow scope (local stack)': 'launched (here all awaited)',
          'launch budget': `${LAUNCH_BUDGET_PER_MINUTE} per minute (default 10)`,
          'open counts of the request-count passes': OPEN_COUNTS.join(', '),
        },
        figures: [
          {
            key: 'latencyMedianMs',
            label: 'launch → SendTaskSuccess, median',
            value: median,
            unit: 'ms',
            digits: 0,
          },
          { key: 'latencyP95Ms', label: 'launch → SendTaskSuccess, p95', value: p95, unit: 'ms', digits: 0 },
          ...requestFigures,
        ],
        checks,
        details: {
          'launch → success, min / max': `${formatDuration(Math.min(...latencies))} / ${formatDuration(Math.max(...latencies))}`,
          'send → execution created (queue pickup, launch function), median / p95': `${formatDuration(medianToStart)} / ${formatDuration(percentile(toStart, 95))}`,
          'created → ended (job run time), median': formatDuration(medianRunning),
          'ended → SendTaskSuccess, median / p95 / max': `${formatDuration(medianAfterEnd)} / ${formatDuration(percentile(afterEnd, 95))} / ${formatDuration(Math.max(...afterEnd))}`,
          'latency part: time, follow passes (with executions open)': `${formatDuration(part1Ended - part1Started)}, ${part1Passes.length} (${workingPasses.length})`,
          'time between two pass reports during it, median / max': `${formatDuration(percentile(passGaps, 50))} / ${formatDuration(Math.max(0, ...passGaps))}`,
          'duration of a pass with executions open, median / max': `${formatDuration(
            percentile(
              workingPasses.map((pass) => pass.summary.durationMs),
              50,
            ),
          )} / ${formatDuration(Math.max(0, ...workingPasses.map((pass) => pass.summary.durationMs)))}`,
          'API requests during the latency part': `${part1Requests.length} (${[...new Set(part1Requests.map((request) => request.endpoint))].join(', ')})`,
          'passes with none open: requests over 2 passes': idle.requests,
          ...Object.fromEntries(
            perPass.map((pass) => [
              `pass with ${pass.open} open`,
              `${pass.emulatorRequests} request(s) (${pass.endpoints}), ${pass.heartbeats} heartbeats, ${formatDuration(pass.passMs)}`,
            ]),
          ),
        },
        notes: [
          `What dominates the latency: ${dominant.part} (median ${formatDuration(dominant.ms)} of ${formatDuration(median)}). ` +
            `A job's end is seen by the next follow pass, every ${formatDuration(LOCAL_FOLLOW_INTERVAL_MS)} locally: ` +
            `on average half an interval of waiting, then the pass copies the files and the stream is drained into ` +
            `the callbacks function. Deployed, the interval is the follow schedule's (followRate, 1 minute by default) ` +
            `and the stream is read by an event source mapping instead of a drain after each pass.`,
          'The whole local stack runs in this process (startLocalStack, free ports, a temporary data directory): the ' +
            "SQS poller (1 s long polls), the launch function, the follow timer, the stream's two readers; Step " +
            'Functions is a client that records each callback and writes the local callbacks file.',
          `The launch function's budget is raised to ${LAUNCH_BUDGET_PER_MINUTE} a minute so that no launch waits for ` +
            "it (the latency part sends about 20 a minute); the emulator's 50 requests a minute stays on for that " +
            `part (${throttled} 429s) and is lifted for the setup of the request counts only.`,
          'A pass with executions open makes one find request (`in` on their ids, up to 100 per request): more than ' +
            '100 open would cost one more per hundred. With none open, a pass reads the store only.',
        ],
      };
    } finally {
      await resources.close();
    }
  },
};
