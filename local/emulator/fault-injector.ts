// Injected failures, so that tests can prove a client survives what a real API and network do: throttling
// bursts, 5xx, hung or reset connections, broken bodies, and the ambiguous "created, then 500" and "stored,
// then 500".
// Decisions are seeded (deterministic for a given request sequence) or queued one-shots (`failNext`).
import { EmulatorConfigError } from './emulator-errors';
import { createSeededRandom, type SeededRandom } from './seeded-random';

export const FAULT_KINDS = [
  '429',
  '429-no-retry-after',
  '500',
  '502',
  '503',
  'timeout',
  'reset',
  'malformed-json',
  'truncated-download',
  'commit-then-500',
  'store-then-500',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const ENDPOINTS = ['create', 'get', 'list', 'find', 'download', 'upload'] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

export interface FaultOptions {
  /** Probability in [0, 1] that an eligible request fails. */
  rate: number;
  /** Kinds to choose from (default: all). A kind is only used where it makes sense (see faultAppliesTo). */
  kinds?: readonly FaultKind[];
  seed?: number | string;
  /** Endpoints that may fail (default: all). */
  endpoints?: readonly Endpoint[];
  /** Retry-After (seconds) sent with an injected '429' (default 1). */
  retryAfterSeconds?: number;
  /** 'timeout': answer 504 after this many real ms; undefined = never answer (until the client gives up). */
  timeoutMs?: number;
}

/** Whether a fault kind can happen on an endpoint. */
function faultAppliesTo(kind: FaultKind, endpoint: Endpoint): boolean {
  switch (kind) {
    case 'truncated-download':
      return endpoint === 'download';
    case 'commit-then-500':
      return endpoint === 'create';
    case 'store-then-500':
      return endpoint === 'upload';
    case 'malformed-json':
      return endpoint !== 'download';
    default:
      return true;
  }
}

interface OneShot {
  kind: FaultKind;
  remaining: number;
  endpoint: Endpoint | undefined;
}

/** Decides, per request, whether and how it fails. */
export class FaultInjector {
  private options: Required<Pick<FaultOptions, 'rate' | 'kinds' | 'endpoints'>> | undefined;
  private random: SeededRandom = createSeededRandom('faults');
  private oneShots: OneShot[] = [];
  retryAfterSeconds = 1;
  timeoutMs: number | undefined;

  constructor(options?: FaultOptions) {
    this.setFaults(options);
  }

  /** Replaces the random fault settings (undefined: no random faults). Queued one-shots are kept. */
  setFaults(options: FaultOptions | undefined): void {
    if (!options) {
      this.options = undefined;
      return;
    }
    validateFaultOptions(options);
    this.options = {
      rate: options.rate,
      kinds: options.kinds ?? FAULT_KINDS,
      endpoints: options.endpoints ?? ENDPOINTS,
    };
    this.random = createSeededRandom(`faults/${options.seed ?? 0}`);
    this.retryAfterSeconds = options.retryAfterSeconds ?? 1;
    this.timeoutMs = options.timeoutMs;
  }

  /** Makes the next `count` requests (of `endpoint`, or of any endpoint the kind applies to) fail. */
  failNext(kind: FaultKind, options: { count?: number; endpoint?: Endpoint } = {}): void {
    if (!(FAULT_KINDS as readonly string[]).includes(kind))
      throw new EmulatorConfigError(`unknown fault kind "${kind}"`);
    const count = options.count ?? 1;
    if (!Number.isInteger(count) || count < 1)
      throw new EmulatorConfigError(`failNext count must be >= 1, got ${count}`);
    if (options.endpoint !== undefined && !faultAppliesTo(kind, options.endpoint)) {
      throw new EmulatorConfigError(`fault "${kind}" cannot happen on the ${options.endpoint} endpoint`);
    }
    this.oneShots.push({ kind, remaining: count, endpoint: options.endpoint });
  }

  /** The fault for a request to `endpoint`, if any. One-shots go first, in the order they were queued. */
  decide(endpoint: Endpoint): FaultKind | undefined {
    const shot = this.oneShots.find(
      (candidate) =>
        (candidate.endpoint === undefined || candidate.endpoint === endpoint) &&
        faultAppliesTo(candidate.kind, endpoint),
    );
    if (shot) {
      shot.remaining--;
      if (shot.remaining === 0) this.oneShots.splice(this.oneShots.indexOf(shot), 1);
      return shot.kind;
    }
    const options = this.options;
    if (!options || options.rate <= 0 || !options.endpoints.includes(endpoint)) return undefined;
    if (this.random.next() >= options.rate) return undefined;
    const applicable = options.kinds.filter((kind) => faultAppliesTo(kind, endpoint));
    return applicable.length > 0 ? this.random.pick(applicable) : undefined;
  }

  /** One-shots not yet used. */
  get pendingOneShots(): number {
    return this.oneShots.reduce((sum, shot) => sum + shot.remaining, 0);
  }
}

function validateFaultOptions(options: FaultOptions): void {
  if (typeof options.rate !== 'number' || !(options.rate >= 0 && options.rate <= 1)) {
    throw new EmulatorConfigError(`faults.rate must be a number in [0, 1], got ${String(options.rate)}`);
  }
  for (const kind of options.kinds ?? []) {
    if (!(FAULT_KINDS as readonly string[]).includes(kind)) {
      throw new EmulatorConfigError(
        `faults.kinds: unknown kind "${kind}" (expected one of ${FAULT_KINDS.join(', ')})`,
      );
    }
  }
  if (options.kinds && options.kinds.length === 0)
    throw new EmulatorConfigError('faults.kinds must not be empty');
  for (const endpoint of options.endpoints ?? []) {
    if (!(ENDPOINTS as readonly string[]).includes(endpoint)) {
      throw new EmulatorConfigError(
        `faults.endpoints: unknown endpoint "${endpoint}" (expected one of ${ENDPOINTS.join(', ')})`,
      );
    }
  }
  if (
    options.retryAfterSeconds !== undefined &&
    !(Number.isInteger(options.retryAfterSeconds) && options.retryAfterSeconds >= 0)
  ) {
    throw new EmulatorConfigError(
      `faults.retryAfterSeconds must be a non-negative integer, got ${options.retryAfterSeconds}`,
    );
  }
  if (options.timeoutMs !== undefined && !(options.timeoutMs >= 0)) {
    throw new EmulatorConfigError(`faults.timeoutMs must be >= 0, got ${options.timeoutMs}`);
  }
}
