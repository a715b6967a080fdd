// Bounded concurrency for batched readers and writers: a fixed number of lanes take the next item in turn.

/** Runs `work` over `items` with at most `n` in flight. */
export async function pool<T>(items: readonly T[], n: number, work: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/**
 * Like {@link pool}, but when a task fails no new task starts and the failure is only thrown once every task in
 * flight has settled (so no write of this chunk is still under way when the caller hears of it).
 */
export async function settledPool<T>(items: readonly T[], n: number, work: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (!failure && next < items.length) {
        try {
          await work(items[next++]!);
        } catch (err) {
          failure ??= { err };
        }
      }
    }),
  );
  if (failure) throw failure.err;
}
