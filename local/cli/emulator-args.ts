// Command-line flags of `npm run emulator`, parsed strictly: an unknown or malformed flag is an error
// (exit code 2 with the usage text), never silently ignored.
import {
  type EmulatorOptions,
  EXECUTION_ORDERS,
  type ExecutionOrder,
  FAULT_KINDS,
  type FaultKind,
} from '../emulator';
import { API_KEY_OPTIONS, type ApiKeySourceName, readApiKeyOption } from './api-key-option';
import { UsageError } from './cli-runner';
import { parseCommandLine } from './cli-values';

export const USAGE = `Usage: npm run emulator -- [options]

Runs the Product-Live emulator (job execution API, file downloads, demo data) until Ctrl-C.

Options:
  --port N            port to listen on (default 4010; 0 = any free port)
  --host HOST         loopback interface to listen on: 127.0.0.1 (default), ::1 or localhost
  --api-key-file PATH a file holding the accepted X-Api-Key (or env PRODUCT_LIVE_API_KEY; default
                      local-dev-key); a key given this way is never printed
  --api-key KEY       the key itself: discouraged, other users of this machine can read it in the
                      process list (a warning says so)
  --seed N            demo data seed (default 1)
  --executions N      number of demo executions (default 400)
  --order ORDER       result order: ${EXECUTION_ORDERS.join(' | ')} (default insertion)
  --no-rate-limit     disable the 50 requests/minute limit
  --fault-rate R      inject faults into a share R (0..1) of requests
  --fault-kinds K,..  fault kinds to inject (default all but timeout): ${FAULT_KINDS.join(', ')}
  --help              show this text`;

export interface EmulatorCommand {
  port: number;
  host: string;
  options: EmulatorOptions;
  /** Where the accepted key came from; undefined: the default key, which may be printed. */
  keySource: ApiKeySourceName | undefined;
}

/** The key the emulator accepts when none is given (printed at start: it is no secret). */
const DEFAULT_EMULATOR_API_KEY = 'local-dev-key';
const LOOPBACK_HOSTS = ['127.0.0.1', '::1', 'localhost'];

/** Parses the emulator's command-line arguments (without the node and script paths). */
export function parseEmulatorArgs(
  argv: readonly string[],
  env: Record<string, string | undefined> = {},
  warn: (message: string) => void = () => undefined,
): EmulatorCommand {
  const { values } = parse(argv);
  const port = parseInteger('--port', values.port, 4010, 0, 65_535);
  const executions = parseInteger('--executions', values.executions, 400, 0, 1_000_000);
  const seed = values.seed ?? '1';
  const order = values.order ?? 'insertion';
  if (!(EXECUTION_ORDERS as readonly string[]).includes(order)) {
    throw new UsageError(`--order must be one of ${EXECUTION_ORDERS.join(', ')}, got "${order}"`);
  }
  const key = readApiKeyOption(values, env, warn);
  const host = values.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.includes(host)) {
    throw new UsageError(
      `--host must be a loopback interface (${LOOPBACK_HOSTS.join(', ')}), got "${host}": the emulator serves this machine only`,
    );
  }
  const options: EmulatorOptions = {
    apiKey: key?.key ?? DEFAULT_EMULATOR_API_KEY,
    order: order as ExecutionOrder,
    demo: { seed: /^\d+$/.test(seed) ? Number(seed) : seed, executions },
  };
  if (values['no-rate-limit']) options.rateLimit = false;
  if (values['fault-rate'] !== undefined) {
    const rate = Number(values['fault-rate']);
    if (!(values['fault-rate'].trim() !== '' && rate >= 0 && rate <= 1)) {
      throw new UsageError(`--fault-rate must be a number between 0 and 1, got "${values['fault-rate']}"`);
    }
    options.faults = { rate, kinds: parseFaultKinds(values['fault-kinds']), seed };
  } else if (values['fault-kinds'] !== undefined) {
    throw new UsageError('--fault-kinds needs --fault-rate');
  }
  return { port, host, options, keySource: key?.source };
}

function parse(argv: readonly string[]) {
  return parseCommandLine(argv, {
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      ...API_KEY_OPTIONS,
      seed: { type: 'string' },
      executions: { type: 'string' },
      order: { type: 'string' },
      'no-rate-limit': { type: 'boolean' },
      'fault-rate': { type: 'string' },
      'fault-kinds': { type: 'string' },
    },
  });
}

function parseFaultKinds(raw: string | undefined): FaultKind[] {
  if (raw === undefined) return FAULT_KINDS.filter((kind) => kind !== 'timeout');
  const kinds = raw.split(',').map((kind) => kind.trim());
  for (const kind of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(kind)) {
      throw new UsageError(`--fault-kinds: unknown kind "${kind}" (expected ${FAULT_KINDS.join(', ')})`);
    }
  }
  return kinds as FaultKind[];
}

function parseInteger(
  flag: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new UsageError(`${flag} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}
