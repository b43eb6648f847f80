// Layer flow: every local CLI (start, launch, history, emulator, ...) -> runCli -> its run function. One way
// to answer --help (per command: `history stats --help`), one error prefix, one set of exit codes:
//   0  done
//   1  the command ran and failed (a sync run that failed, an execution that is not stored, a network error)
//   2  the command could not run as asked: a bad command line (the usage follows), or a problem of this
//      machine or its settings the user can fix first (Java missing, a port taken, no local store, a key
//      the API refuses, an API that cannot be reached)
import { describeError } from '#core/errors';

/** A bad command line: the CLI prints the message and the usage (of `command`, when given) and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/** A problem of this machine or its settings that the user can fix (see the exit codes above): exit 2. */
export class SetupError extends Error {
  override readonly name = 'SetupError';
}

/** Errors of the local servers that are setup problems, matched by name (their module loads lazily). */
const SETUP_ERROR_NAMES: ReadonlySet<string> = new Set(['SetupError', 'JavaMissingError', 'PortInUseError']);

/** A failure as a CLI reports it: one line, and the exit code. */
export interface Explained {
  message: string;
  code: 1 | 2;
}

export interface CliProgram {
  /** The usage text of the whole CLI. */
  usage: string;
  /** The usage text of each command, for CLIs with commands (`history stats --help`). */
  commands?: Readonly<Record<string, string>>;
  /** Runs the command line (without --help, which the runner answers); resolves with the exit code. */
  run(argv: readonly string[]): Promise<number>;
  /** This CLI's own wording of failures it knows; undefined: the runner's default. */
  explain?(error: unknown): Explained | undefined;
}

/** The usage to show for a command line: the command's own when one is named, else the CLI's. */
export function usageFor(program: CliProgram, argv: readonly string[], command?: string): string {
  const named = command ?? argv.find((argument) => !argument.startsWith('-'));
  return (named !== undefined ? program.commands?.[named] : undefined) ?? program.usage;
}

/** How a failure is reported: the program's own explanation, else by its kind. */
function explainFailure(program: CliProgram, error: unknown): Explained {
  const own = program.explain?.(error);
  if (own) return own;
  if (error instanceof Error && SETUP_ERROR_NAMES.has(error.name)) return { message: error.message, code: 2 };
  const text = error instanceof Error ? error.message || describeError(error) : String(error);
  return { message: text.split('\n')[0] ?? text, code: 1 };
}

/** Runs a CLI and sets the process exit code; every failure is one line on stderr prefixed `error: `. */
export async function runCli(
  program: CliProgram,
  argv: readonly string[] = process.argv.slice(2),
): Promise<void> {
  // A reader that stops early (`| head`) closes the pipe: that is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usageFor(program, argv)}\n`);
    process.exitCode = 0;
    return;
  }
  try {
    process.exitCode = await program.run(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\n\n${usageFor(program, argv, error.command)}\n`);
      process.exitCode = 2;
      return;
    }
    const { message, code } = explainFailure(program, error);
    process.stderr.write(`error: ${message}\n`);
    process.exitCode = code;
  }
}
