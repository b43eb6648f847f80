// Small concurrency helpers shared by the use cases and repositories.

/**
 * Like Promise.all, but waits for every task before rejecting with the first error: nothing that was
 * started is still in flight when the caller moves on (or a run ends).
 */
export async function settleAll(tasks: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(tasks);
  const failure = results.find((result) => result.status === 'rejected');
  if (failure) throw failure.reason;
}

/** Runs `task` for every item, at most `limit` at a time; settles all before rejecting (see settleAll). */
export async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  };
  await settleAll(Array.from({ length: Math.min(limit, items.length) }, worker));
}
