import type { CountDelta, Dialect } from '../dialect.js';
import { step, type Flow, type Row, type Step } from '../flow.js';
import { asNumber, asString } from '../job-row.js';
import { MAX_IDS, type LinkSql } from './link-sql.js';

const FAILED = new Set(['dead', 'cancelled']);
/** Levels of a flow (see `MAX_FLOW_DEPTH`), with room for trees built before a lower bound. */
const MAX_LEVELS = 64;

/**
 * A flow parent that ended while it waited for its children: dead because a child failed
 * (`onChildFailure: 'fail'`), or cancelled. It never ran in this life: a claim would have
 * counted an attempt (`retry` resets them to 0, and a hand-back gives its attempt back).
 */
const endedWaiting = (r: Row): boolean => r.on_child_failure != null && FAILED.has(asString(r.state)) && asNumber(r.attempt ?? 0) === 0;

/**
 * `retry` of a flow parent on the SQL storages, written once for every database (see
 * `flow-links.ts` for `child_status` and `pending_children`). A parent that ended while it
 * waited never runs behind its failed children's back: in one transaction it waits again,
 * its dead and cancelled children are retried with fresh attempts (a child that is itself
 * such a parent waits again the same way, level by level), and it runs once every child has
 * completed, as a new flow would. Locks go parent first, then its children in id order, as
 * `cancel` takes them; each state change is an UPDATE guarded by the state it leaves.
 */
export function flowRetry(dialect: Dialect, x: LinkSql) {
  const { kind, tables: t } = dialect;
  const { common, now, lock, q, id, marks } = x;
  const no = kind === 'postgres' ? 'false' : '0';

  /**
   * The locked parent `p` (ended waiting) waits again for its children that have not
   * completed; returns false, writing nothing, when every child completed (a plain retry
   * then runs it). Its completed children count as done (`child_status` 1: prune keeps them
   * while it waits); the others count once, when they finish (`child_status` 0), whatever
   * they were counted as before: failed ones are retried now, pending and running ones (a
   * running child may have had its cancellation requested when the parent ended) count with
   * the outcome they reach.
   */
  function* resume(p: Row, woken: string[], depth: number): Flow<boolean> {
    const pid = String(p.id);
    const kids = (yield q(`SELECT id, queue, state, attempt, on_child_failure FROM ${t.jobs} WHERE parent_id = ? ORDER BY id${lock}`, [id(pid)])).rows;
    const open = kids.filter((k) => k.state !== 'completed');
    if (!open.length) return false;
    const { affected } = yield q(
      `UPDATE ${t.jobs} SET attempt = 0, interruptions = 0, completed_at = NULL, failed_at = NULL, cancel_requested = ${no},
         pending_children = ?, state = 'waiting' WHERE id = ? AND state IN ('dead', 'cancelled')`,
      [open.length, id(pid)],
    );
    if (!affected) return false;
    const queue = asString(p.queue);
    const deltas: CountDelta[] = [{ queue, event: 'waiting', n: 1 }];
    if (p.state === 'dead') deltas.push({ queue, event: 'dead', n: -1 });
    const rerun: Row[] = [];
    for (const k of open) {
      if (!FAILED.has(asString(k.state))) continue;
      if (depth < MAX_LEVELS && endedWaiting(k) && (yield* resume(k, woken, depth + 1))) continue;
      rerun.push(k);
    }
    // As `retry` of one job (flows hold no unique keys), due now.
    for (let i = 0; i < rerun.length; i += MAX_IDS) {
      const chunk = rerun.slice(i, i + MAX_IDS);
      yield q(
        `UPDATE ${t.jobs} SET attempt = 0, interruptions = 0, run_at = ${now}, completed_at = NULL, failed_at = NULL,
           cancel_requested = ${no}, state = 'available' WHERE id IN (${marks(chunk.length)}) AND state IN ('dead', 'cancelled')`,
        chunk.map((k) => id(String(k.id))),
      );
    }
    for (const k of rerun) {
      deltas.push({ queue: asString(k.queue), event: 'pending', n: 1 });
      if (k.state === 'dead') deltas.push({ queue: asString(k.queue), event: 'dead', n: -1 });
    }
    yield common.applyDeltas(deltas);
    yield q(`UPDATE ${t.jobs} SET child_status = CASE WHEN state = 'completed' THEN 1 ELSE 0 END WHERE parent_id = ?`, [id(pid)]);
    for (const q2 of new Set(rerun.map((k) => asString(k.queue)))) {
      if (kind === 'postgres') yield q(`SELECT pg_notify(?, ?)`, [t.channel, q2]);
      woken.push(q2);
    }
    return true;
  }

  return {
    /**
     * `retry(jobId)`: a parent that ended while it waited, with children that have not all
     * completed, waits again (see `resume`); any other job as `inner` retries it. `done` gets
     * the queues where jobs became due, for the signals after the commit.
     */
    retry(jobId: string, inner: Step<Row | null>, done: (s: { woken: string[]; cancelRequested: string[] }) => void): Step<Row | null> {
      return step('tx', function* () {
        const { rows } = yield q(`SELECT id, queue, state, attempt, on_child_failure FROM ${t.jobs} WHERE id = ?${lock}`, [id(jobId)]);
        const woken: string[] = [];
        if (rows[0] && endedWaiting(rows[0]) && (yield* resume(rows[0], woken, 0))) {
          done({ woken, cancelRequested: [] });
          return (yield common.get(jobId)).rows[0] ?? null;
        }
        return yield* inner.make();
      });
    },
  };
}
