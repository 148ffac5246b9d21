import type { ThroughputMinute } from './storage.js';

/** Oldest minute first, then by queue: the order of `Storage.throughput()`. */
export function sortThroughput(rows: ThroughputMinute[]): ThroughputMinute[] {
  return rows.sort((a, b) => a.minute - b.minute || a.queue.localeCompare(b.queue));
}
