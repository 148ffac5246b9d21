import { sql, step, type Step } from '../flow.js';
import { asNumber, asString } from '../job-row.js';
import type { TableNames } from '../table-names.js';
import { NOW, PENDING } from './sqlite.statements.js';

/**
 * What the file holds, as far as waking workers goes, at one `data_version`: per queue, the
 * pending count (scheduled + available + retryable, summed over its due buckets) or `paused`;
 * and the highest job id.
 */
export interface QueueMarks {
  /** `PRAGMA data_version` when read. */
  version: number;
  /** Queue → its pending count, or `paused` when the queue is paused. */
  queues: Map<string, number | 'paused'>;
  /** The highest job id (0 when there are none). */
  topId: number;
}

/** Pending jobs stored since the last look, per queue: how many are due now, and in how many ms the soonest other one is. */
export interface NewJobs {
  queue: string;
  /** How many are pending (due or not). */
  pending: number;
  due: number;
  /** ms until the soonest of those not due yet (on the database's clock), or null. */
  soonestInMs: number | null;
}

export interface Changes {
  marks: QueueMarks;
  /** Empty on a first look (`since` null). */
  fresh: NewJobs[];
}

/**
 * One look for changes committed by other connections (other processes) since the marks
 * `since`; with `refresh`, it reads even when nothing else committed (this connection wrote
 * since the last look, and the marks must take its own changes in).
 *
 * `PRAGMA data_version` changes when another connection commits to the file, and never for this
 * connection's own commits; reading it costs a few microseconds (it checks the WAL index), so it
 * can be read every few milliseconds. Only when it moved does the flow read on:
 * - the jobs stored since the highest id seen: a range of the primary key, the new rows only.
 *   A job's id is greater than every id committed before it (SQLite has one writer, and
 *   `sqlite-ids.ts` gives ids above the greatest one there), so no new job hides below the mark,
 *   whatever else committed meanwhile;
 * - the pending counts (the `s` rows of the counter table, which every write keeps in its own
 *   transaction: a range of its primary key, a few rows per queue) and the paused queues: for
 *   what changes pending jobs without storing one (a release, a rescue, a retry, a resume).
 * All reads: under WAL they take no lock and wait for no writer.
 *
 * Null: nothing changed since `since`, and no `refresh`.
 */
export function sqliteChanges(t: TableNames, since: QueueMarks | null, refresh: boolean): Step<Changes | null> {
  return outside(step('read', function* () {
    const version = asNumber((yield sql('PRAGMA data_version')).rows[0]?.data_version);
    if (since && version === since.version && !refresh) return null;
    const counts = yield sql(
      `SELECT queue, SUM(n) AS n, 0 AS paused FROM ${t.counters} WHERE grain = 's' AND event = 'pending' GROUP BY queue
       UNION ALL
       SELECT queue, 0 AS n, 1 AS paused FROM ${t.paused}`,
    );
    const queues = new Map<string, number | 'paused'>();
    for (const r of counts.rows) {
      const queue = asString(r.queue);
      if (asNumber(r.paused) === 1) queues.set(queue, 'paused');
      else if (!queues.has(queue)) queues.set(queue, asNumber(r.n));
    }
    if (!since) {
      const top = yield sql(`SELECT COALESCE(MAX(id), 0) AS top FROM ${t.jobs}`);
      return { marks: { version, queues, topId: asNumber(top.rows[0]?.top) }, fresh: [] };
    }
    const { rows } = yield sql(
      `SELECT queue, MAX(id) AS top,
              SUM(state IN ${PENDING}) AS pending,
              SUM(state IN ${PENDING} AND run_at <= ${NOW}) AS due,
              MIN(CASE WHEN state IN ${PENDING} AND run_at > ${NOW} THEN run_at - ${NOW} END) AS soonest
       FROM ${t.jobs} WHERE id > ? GROUP BY queue`,
      [since.topId],
    );
    let topId = since.topId;
    const fresh: NewJobs[] = [];
    for (const r of rows) {
      topId = Math.max(topId, asNumber(r.top));
      const due = asNumber(r.due);
      const soonestInMs = r.soonest === null || r.soonest === undefined ? null : asNumber(r.soonest);
      const pending = asNumber(r.pending);
      if (pending > 0) fresh.push({ queue: asString(r.queue), pending, due, soonestInMs });
    }
    return { marks: { version, queues, topId }, fresh };
  }));
}

/** The watch reads on its own schedule: never inside a transaction open on the connection (see `Step.outside`). */
const outside = <T>(s: Step<T>): Step<T> => ({ ...s, outside: true });
