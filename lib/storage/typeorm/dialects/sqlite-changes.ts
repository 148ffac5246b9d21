import { sql, step, type Step } from '../flow.js';
import { asNumber, asString } from '../job-row.js';
import type { TableNames } from '../table-names.js';

/**
 * What another connection changed, as far as waking workers goes: per queue, the pending count
 * (scheduled + available + retryable, summed over its due buckets) and whether the queue is
 * paused. A queue whose pending count moved, or that was resumed, may have new due work.
 */
export interface QueueMarks {
  /** `PRAGMA data_version` when read. */
  version: number;
  /** Queue → its pending count, or `paused` when the queue is paused. */
  queues: Map<string, number | 'paused'>;
}

/**
 * One look for changes committed by other connections (other processes) since `version`; with
 * `refresh`, the marks are read even when nothing else committed (this connection wrote since
 * the last look, and the marks must take its own changes in).
 *
 * `PRAGMA data_version` changes when another connection commits to the file, and never for this
 * connection's own commits; reading it costs a few microseconds (it checks the WAL index), so it
 * can be read every few milliseconds. Only when it moved does the flow read the marks: the
 * pending counts from the `s` rows of the counter table (the roll-up counts every write keeps
 * in its own transaction; a range of the primary key, a few rows per queue) and the paused
 * queues. Both are reads: under WAL they take no lock and wait for no writer.
 *
 * Null: nothing changed since `version`, and no `refresh`.
 */
export function sqliteChanges(t: TableNames, version: number | null, refresh: boolean): Step<QueueMarks | null> {
  return step('read', function* () {
    const now = asNumber((yield sql('PRAGMA data_version')).rows[0]?.data_version);
    if (now === version && !refresh) return null;
    const { rows } = yield sql(
      `SELECT queue, SUM(n) AS n, 0 AS paused FROM ${t.counters} WHERE grain = 's' AND event = 'pending' GROUP BY queue
       UNION ALL
       SELECT queue, 0 AS n, 1 AS paused FROM ${t.paused}`,
    );
    const queues = new Map<string, number | 'paused'>();
    for (const r of rows) {
      const queue = asString(r.queue);
      if (asNumber(r.paused) === 1) queues.set(queue, 'paused');
      else if (!queues.has(queue)) queues.set(queue, asNumber(r.n));
    }
    return { version: now, queues };
  });
}
