// `npm run emulator`: the Product-Live emulator as a standalone server with demo data, on the wall clock.
// Stays up until SIGINT/SIGTERM, then closes every connection and exits 0.
import { createEmulator, EmulatorConfigError } from '../emulator';
import { runCli } from './cli-runner';
import { parseEmulatorArgs, USAGE } from './emulator-args';

async function main(argv: readonly string[]): Promise<number> {
  const command = parseEmulatorArgs(argv, process.env, (message) =>
    process.stderr.write(`warning: ${message}\n`),
  );
  const emulator = createEmulator(command.options);
  await emulator.start(command.port, command.host);
  const executions = emulator.executions().length;
  process.stdout.write(
    // A key the user gave is never printed; the default one is no secret.
    `Product-Live emulator listening on ${emulator.url} (X-Api-Key: ${command.keySource ? `the key from ${command.keySource}` : emulator.apiKey}, ` +
      `${emulator.jobs().length} jobs, ${executions} executions). Ctrl-C to stop.\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await emulator.stop();
  process.stdout.write('Product-Live emulator stopped.\n');
  return 0;
}

await runCli({
  usage: USAGE,
  run: main,
  // Options the emulator itself refuses are part of the command line.
  explain: (error) =>
    error instanceof EmulatorConfigError ? { message: error.message, code: 2 } : undefined,
});
