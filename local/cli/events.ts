// `npm run events`: the status-change events the local stack published (docs/events.md).
//   npm run events -- tail [--status FAILED] [--json]   the last events, then every new one until Ctrl-C
import { DEFAULT_DATA_DIR } from '../stack/local-stack-settings';
import { runCli } from './cli-runner';
import { checkDataDir } from './cli-values';
import { parseTailArgs, tailEvents } from './events-tail';

const USAGE = `usage: npm run events -- tail [options]

Shows the job execution events that \`npm start\` published to <data-dir>/events.ndjson (the local stand-in
for EventBridge): status changes, results and job health changes, the last ones, then each new one as it comes, until Ctrl-C.

options:
  --status STATUS[,STATUS]  only these statuses (repeatable), e.g. --status FAILED,TIMEDOUT
  --results                 only results (Job Execution Result: ended, every file settled)
  --health                  only job health changes (Job Health Change); with --results, both
  --json                    print each event as the JSON line written (EventBridge's envelope)
  --lines N                 how many past events to show first (default 10; 0 for new ones only)
  --no-follow               print the past events and exit
  --data-dir DIR            the data directory of npm start (default ${DEFAULT_DATA_DIR})
  -h, --help                show this text

examples:
  npm run events -- tail
  npm run events -- tail --status FAILED --status TIMEDOUT
  npm run events -- tail --json --lines 0 | jq .detail.eventId
  npm run events -- tail --results --json | jq '.detail | {executionId, status, launch}'
  npm run events -- tail --health --no-follow --lines 50

exit codes: 0 done, 2 a bad command line or no events file (with --no-follow)`;

async function main(argv: readonly string[]): Promise<number> {
  const options = parseTailArgs(argv);
  await checkDataDir(options.dataDir);
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await tailEvents(
      options,
      {
        write: (text) => process.stdout.write(text),
        warn: (text) => process.stderr.write(`warning: ${text}\n`),
      },
      abort.signal,
    );
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return 0;
}

await runCli({ usage: USAGE, run: main });
