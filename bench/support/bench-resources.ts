// Every server, child process and temporary directory a benchmark starts is registered here and released in
// reverse order when the benchmark ends, fails, or is interrupted (Ctrl-C): a benchmark leaves nothing behind.

const open = new Set<BenchResources>();

/** A stack of cleanups, released last-in first-out. */
export class BenchResources {
  private readonly cleanups: Array<{ label: string; release: () => Promise<void> }> = [];

  constructor() {
    open.add(this);
  }

  /** Registers a cleanup (stop a server, remove a directory). */
  defer(label: string, release: () => Promise<void>): void {
    this.cleanups.push({ label, release });
  }

  /** Releases everything registered, newest first; a failing cleanup is reported and the rest still run. */
  async close(): Promise<void> {
    open.delete(this);
    for (const { label, release } of this.cleanups.splice(0).reverse()) {
      try {
        await release();
      } catch (error) {
        console.error(`bench: could not release ${label}: ${(error as Error).message}`);
      }
    }
  }
}

/** Releases the resources of every benchmark still running (on SIGINT/SIGTERM). */
export async function closeAllResources(): Promise<void> {
  await Promise.all([...open].map((resources) => resources.close()));
}
