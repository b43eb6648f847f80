// `npm run emulator`: the Product-Live emulator as a standalone server with demo data, on the wall
// clock. Stays up until SIGINT/SIGTERM, then closes every connection and exits 0.
import { CliUsageError, parseEmulatorArgs, USAGE } from './cli-args';
import { createEmulator } from './emulator';
import { EmulatorConfigError } from './emulator-errors';

async function main(argv: readonly string[]): Promise<number> {
  let command: ReturnType<typeof parseEmulatorArgs>;
  try {
    command = parseEmulatorArgs(argv);
  } catch (error) {
    if (!(error instanceof CliUsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (command.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const emulator = createEmulator(command.options);
  await emulator.start(command.port, command.host);
  const executions = emulator.executions().length;
  process.stdout.write(
    `Product-Live emulator listening on ${emulator.url} (X-Api-Key: ${emulator.apiKey}, ` +
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message =
      error instanceof EmulatorConfigError
        ? error.message
        : error instanceof Error
          ? error.stack
          : String(error);
    process.stderr.write(`emulator: ${message}\n`);
    process.exitCode = 1;
  },
);
