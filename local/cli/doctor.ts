// `npm run doctor -- [--data-dir DIR | --stack NAME | --table NAME …] [--json] [--no-api] [--athena]`: is the local
// or deployed stack working? Wiring only: parse the command line, run the checks of local/doctor, print them.
// Exit codes: 0 nothing failed, 1 a check failed, 2 a bad command line or a setup problem.
import { runDoctor } from '../doctor/doctor';
import { renderJson, renderResult, renderTotals } from '../doctor/render-report';
import { runCli, SetupError } from './cli-runner';
import { checkDataDir } from './cli-values';
import { DOCTOR_USAGE, parseDoctorArgs } from './doctor-args';
import { explainStoreFailure } from './store-options';

async function main(argv: readonly string[]): Promise<number> {
  const { json, ...invocation } = parseDoctorArgs(argv, process.env, (message) =>
    process.stderr.write(`warning: ${message}\n`),
  );
  if (invocation.store.kind === 'local') await checkDataDir(invocation.store.dataDir);
  // DynamoDB Local started for this command is stopped on exit (local/aws/dynamodb-local.ts).
  const interrupted = () => process.exit(130);
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const print = (text: string) => process.stdout.write(`${text}\n`);
  try {
    const report = await runDoctor(invocation, {
      env: process.env,
      ...(process.stderr.isTTY ? { note: (message: string) => process.stderr.write(`${message}\n`) } : {}),
      ...(json
        ? {}
        : {
            onTarget: (label: string) => print(`Checking ${label}\n`),
            onResult: (result) => print(renderResult(result)),
          }),
    });
    if (json) process.stdout.write(renderJson(report));
    else print(`\n${renderTotals(report)}`);
    return report.ok ? 0 : 1;
  } catch (error) {
    const explained = explainStoreFailure(error, invocation.store);
    throw explained ? new SetupError(explained.message) : error;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}

await runCli({ usage: DOCTOR_USAGE, run: main, explain: (error) => explainStoreFailure(error) });
