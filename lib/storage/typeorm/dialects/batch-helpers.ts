import type { CountDelta, CountEvent } from '../dialect.js';
import type { Row } from '../flow.js';
import { asString } from '../job-row.js';

/**
 * Per-queue counts of changed rows (for the roll-up counters), sorted by queue so that
 * concurrent transactions lock counter rows in one order and cannot deadlock on them.
 */
export function countByQueue(rows: Row[], filter: (r: Row) => boolean = () => true): Array<{ q: string; n: number }> {
  const counts = new Map<string, number>();
  for (const r of rows) {
    if (!filter(r)) continue;
    const q = asString(r.queue);
    counts.set(q, (counts.get(q) ?? 0) + 1);
  }
  return [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([q, n]) => ({ q, n }));
}

/** The first item per id: a batch naming one job twice applies the first. */
export function firstPerId<T extends { id: string }>(items: T[]): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const item of items) {
    if (seen.has(item.id)) continue;
    seen.add(item.id);
    out.push(item);
  }
  return out;
}

/**
 * Count changes for the rows a statement changed: per queue, `n` each of `event`; for
 * 'pending', grouped by the minute of `runAtMs(row)` too (the dialect then buckets it).
 */
export function deltasOf(
  rows: Row[],
  event: CountEvent,
  n: number,
  runAtMs?: (r: Row) => number,
): CountDelta[] {
  const out = new Map<string, CountDelta>();
  for (const r of rows) {
    const queue = asString(r.queue);
    const minute = runAtMs ? Math.floor(runAtMs(r) / 60_000) * 60_000 : null;
    const key = `${queue}\u0000${minute}`;
    const d = out.get(key);
    if (d) d.n += n;
    else out.set(key, minute === null ? { queue, event, n } : { queue, event, n, runAt: minute });
  }
  return [...out.values()];
}
