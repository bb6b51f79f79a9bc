/**
 * Runs `task` over `items` with at most `limit` running at once, in order. Rather than a
 * promise per item up front: a cold 20k-package audit held 20 MB of waiting lookup chains
 * (closures, promises, queue entries) while a few dozen requests were on the wire.
 */
export async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
