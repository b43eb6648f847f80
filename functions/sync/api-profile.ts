// Layer flow: runSync and the audit -> ApiProfileTracker -> the sync state table (via runSync). What the sync
// learned about the API (the find path that answers, whether `in`, `or` and `lower` are accepted, the page
// size and the `in` batch it accepts) is kept between runs, so that a cold start does not pay to learn it
// again, and forgotten after a day, so that a change on the API's side is noticed.
import type { ApiProfile } from '#core/store/sync-state-repository';

/** How long what was learned is trusted. */
const API_PROFILE_MAX_AGE_MS = 24 * 3600_000;

type Learned = Omit<ApiProfile, 'learnedAt'>;

export class ApiProfileTracker {
  private learned: Learned;
  private learnedAt: string;
  private changed: boolean;

  /** `stored` is ignored when it is older than a day: everything is learned again. */
  constructor(stored: ApiProfile | undefined, nowMs: number) {
    const fresh = stored !== undefined && nowMs - Date.parse(stored.learnedAt) < API_PROFILE_MAX_AGE_MS;
    const { learnedAt, ...learned } = fresh ? stored : { learnedAt: new Date(nowMs).toISOString() };
    this.learned = learned;
    this.learnedAt = learnedAt;
    this.changed = !fresh && stored !== undefined;
  }

  get findPath(): string | undefined {
    return this.learned.findPath;
  }

  /** False only once the API refused it; unknown counts as accepted (it is tried). */
  accepts(operator: 'in' | 'or' | 'lower'): boolean {
    const known = {
      in: this.learned.inSupported,
      or: this.learned.orSupported,
      lower: this.learned.lowerSupported,
    };
    return known[operator] !== false;
  }

  get pageSize(): number | undefined {
    return this.learned.pageSize;
  }

  get inBatchSize(): number | undefined {
    return this.learned.inBatchSize;
  }

  /** Records something learned (kept only if it changes what is known). */
  learn(patch: Learned): void {
    for (const [key, value] of Object.entries(patch) as Array<[keyof Learned, Learned[keyof Learned]]>) {
      if (value === undefined || this.learned[key] === value) continue;
      (this.learned as Record<string, unknown>)[key] = value;
      this.changed = true;
    }
  }

  /** The profile to save, when anything was learned or the old one expired; undefined otherwise. */
  toSave(nowMs: number): ApiProfile | undefined {
    if (!this.changed) return undefined;
    if (this.learnedAt === undefined || nowMs - Date.parse(this.learnedAt) >= API_PROFILE_MAX_AGE_MS) {
      this.learnedAt = new Date(nowMs).toISOString();
    }
    return { learnedAt: this.learnedAt, ...this.learned };
  }
}
