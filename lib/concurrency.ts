/**
 * A bound on vendor requests in flight from one GraphQL request, so a wide query (hundreds of
 * entities) queues instead of bursting into the vendor's rate limit.
 */

/** Run `work` over `items` with at most `limit` in flight; results in item order. */
export async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
