import type { CountDelta, Dialect } from '../dialect.js';
import { step, type Flow, type Row, type Step } from '../flow.js';
import { asNumber, asString } from '../job-row.js';
import { batchLinks } from './batch-links.js';
import { flowRetry } from './flow-retry.js';
import { linkSql } from './link-sql.js';

import { FINISHED, MAX_IDS, PENDING } from './link-sql.js';
const FAILED = new Set(['dead', 'cancelled']);
const PENDING_SET = new Set(['scheduled', 'available', 'retryable']);
/** Levels of a flow (see `MAX_FLOW_DEPTH`), with room for trees built before a lower bound. */
const MAX_LEVELS = 64;

/** What a finishing transition did to flow parents, for the storage's signals after commit. */
export interface Settled {
  /** Queues where a parent became available. */
  woken: string[];
  /** Running descendants whose cancellation was requested (a parent failed or was cancelled). */
  cancelRequested: string[];
}

/** One stored node as `link` needs it: its id, its parent's, and (a parent) its children's count and mode. */
export interface LinkNode {
  id: string;
  parentId: string | null;
  children: number;
  onChildFailure: string;
}

/**
 * Flows on the SQL storages, written once for every database (the statements are portable
 * SQL; what differs, the clock, placeholders, row locks and booleans, is chosen by `kind`).
 *
 * Column `child_status` of a child: 0 not counted into its parent yet, 1 counted while the
 * parent waits (prune keeps it), 2 the parent has moved on (prunable). A parent's
 * `pending_children` is the number of its children not counted yet.
 *
 * `settle(ids)` runs at the end of every finishing transition's transaction (complete, fail,
 * release, rescue, cancel), on the rows that transition wrote: the finished ones not counted
 * yet are marked counted (the guard `child_status = 0`, under the row locks the transition
 * holds, counts each once), and each parent, locked in id order, is counted down by them, or
 * ended dead by a failed child under `onChildFailure: 'fail'`. A parent leaves `waiting` only
 * through an UPDATE guarded by `state = 'waiting'`, under its row lock: concurrent finishers
 * of its last children queue on that lock, and only one of them finds it still waiting.
 *
 * The repair pass (`repair`, run by the rescuer) is idempotent and recomputes from the rows
 * themselves: finished children still at `child_status = 0` (a writer that did not count
 * them) are counted as above, one by one under the same guard; and a waiting parent none of
 * whose children is unfinished or uncounted (its counter skewed, e.g. by a manual edit) moves
 * on as its children say, whatever its counter holds.
 */
export function flowLinks(dialect: Dialect) {
  const { kind, tables: t } = dialect;
  const x = linkSql(dialect);
  const { common, now, lock, yes, runAt, later, columns, errorParam, q, id, ids, marks, sortIds } = x;
  const batches = batchLinks(dialect, x);
  const retries = flowRetry(dialect, x);

  /** PostgreSQL: tells every instance on commit (a queue name: work is due there; `!cancel:<id>`). */
  function* notify(payload: string): Flow<void> {
    if (kind === 'postgres') yield q(`SELECT pg_notify(?, ?)`, [t.channel, payload]);
  }

  function* release(parentId: string): Flow<void> {
    yield q(`UPDATE ${t.jobs} SET child_status = 2 WHERE parent_id = ? AND child_status = 1`, [id(parentId)]);
  }

  /** Cancels the pending and waiting descendants of `parentIds`; running ones get a cancel request. */
  function* cancelUnder(parentIds: string[], out: Settled): Flow<void> {
    let level = parentIds;
    for (let depth = 0; level.length && depth < MAX_LEVELS; depth++) {
      const next: string[] = [];
      for (let i = 0; i < level.length; i += MAX_IDS) {
        const chunk = level.slice(i, i + MAX_IDS);
        const { rows } = yield q(
          `SELECT id, queue, state, ${runAt} FROM ${t.jobs} WHERE parent_id IN (${marks(chunk.length)})
             AND state IN ('waiting', 'scheduled', 'available', 'retryable', 'running') ORDER BY id${lock}`,
          ids(chunk),
        );
        const of = (pred: (r: Row) => boolean) => rows.filter(pred).map((r) => String(r.id));
        const pending = rows.filter((r) => PENDING_SET.has(asString(r.state)));
        const waiting = of((r) => r.state === 'waiting');
        const running = of((r) => r.state === 'running');
        if (pending.length) {
          yield q(
            `UPDATE ${t.jobs} SET failed_at = ${now}, child_status = 2, state = 'cancelled' WHERE id IN (${marks(pending.length)}) AND state IN ${PENDING}`,
            pending.map((r) => id(String(r.id))),
          );
          yield common.applyDeltas(pending.map((r): CountDelta => ({ queue: asString(r.queue), event: 'pending', n: -1, runAt: r.run_at })));
        }
        if (waiting.length) {
          yield q(
            `UPDATE ${t.jobs} SET failed_at = ${now}, pending_children = 0, child_status = 2, state = 'cancelled' WHERE id IN (${marks(waiting.length)}) AND state = 'waiting'`,
            ids(waiting),
          );
          yield q(`UPDATE ${t.jobs} SET child_status = 2 WHERE parent_id IN (${marks(waiting.length)}) AND child_status = 1`, ids(waiting));
          yield common.applyDeltas(rows.filter((r) => r.state === 'waiting').map((r): CountDelta => ({ queue: asString(r.queue), event: 'waiting', n: -1 })));
          next.push(...waiting);
        }
        if (running.length) {
          yield q(`UPDATE ${t.jobs} SET cancel_requested = ${yes} WHERE id IN (${marks(running.length)}) AND state = 'running'`, ids(running));
          for (const r of running) yield* notify(`!cancel:${r}`);
          out.cancelRequested.push(...running);
        }
      }
      level = next;
    }
  }

  /**
   * Moves the locked waiting `parent` on: dead (naming `failedChild`) under `onChildFailure:
   * 'fail'`, else available. Returns the parent's id when it ended dead (it is a finished
   * child in turn).
   */
  function* moveOn(parent: Row, failedChild: Row | null, out: Settled): Flow<string | null> {
    const pid = String(parent.id);
    const queue = asString(parent.queue);
    if (failedChild && asString(parent.on_child_failure ?? 'fail') === 'fail') {
      const error = JSON.stringify({
        name: 'ChildFailed',
        message: `child job ${String(failedChild.id)} (${asString(failedChild.name)}) ended ${asString(failedChild.state)}`,
        attempt: asNumber(parent.attempt ?? 0),
        at: new Date().toISOString(),
      });
      const { affected } = yield q(
        `UPDATE ${t.jobs} SET failed_at = ${now}, last_error = ${errorParam}, pending_children = 0, state = 'dead' WHERE id = ? AND state = 'waiting'`,
        [error, id(pid)],
      );
      if (!affected) return null;
      yield common.applyDeltas([{ queue, event: 'waiting', n: -1 }, { queue, event: 'dead', n: 1 }, { queue, event: 'died', n: 1 }]);
      yield* release(pid);
      yield* cancelUnder([pid], out);
      return pid;
    }
    const { affected } = yield q(
      `UPDATE ${t.jobs} SET pending_children = 0, run_at = ${later}, state = 'available' WHERE id = ? AND state = 'waiting'`,
      [id(pid)],
    );
    if (!affected) return null;
    yield common.applyDeltas([{ queue, event: 'waiting', n: -1 }, { queue, event: 'pending', n: 1, runAt: parent.run_at }]);
    yield* release(pid);
    yield* notify(queue);
    out.woken.push(queue);
    return null;
  }

  function* lockParent(pid: string): Flow<Row | null> {
    const { rows } = yield q(
      `SELECT id, queue, state, ${runAt}, attempt, pending_children, on_child_failure FROM ${t.jobs} WHERE id = ?${lock}`,
      [id(pid)],
    );
    return rows[0] ?? null;
  }

  /** Counts `children` (finished, just marked counted) into their parents; parents that ended dead are returned. */
  function* countInto(children: Row[], out: Settled): Flow<string[]> {
    const byParent = new Map<string, Row[]>();
    for (const c of children) {
      if (c.parent_id == null) continue;
      const pid = String(c.parent_id);
      const list = byParent.get(pid) ?? [];
      list.push(c);
      byParent.set(pid, list);
    }
    const ended: string[] = [];
    for (const pid of [...byParent.keys()].sort(sortIds)) {
      const kids = byParent.get(pid)!;
      const parent = yield* lockParent(pid);
      if (!parent || parent.state !== 'waiting') {
        yield q(`UPDATE ${t.jobs} SET child_status = 2 WHERE id IN (${marks(kids.length)})`, kids.map((k) => id(String(k.id))));
        continue;
      }
      const failed = kids.find((k) => FAILED.has(asString(k.state))) ?? null;
      const left = asNumber(parent.pending_children ?? 0) - kids.length;
      if ((failed && asString(parent.on_child_failure ?? 'fail') === 'fail') || left <= 0) {
        const dead = yield* moveOn(parent, failed, out);
        if (dead) ended.push(dead);
      } else {
        yield q(`UPDATE ${t.jobs} SET pending_children = ? WHERE id = ? AND state = 'waiting'`, [left, id(pid)]);
      }
    }
    return ended;
  }

  /** See `flowLinks`: counts the finished, uncounted rows among `written` into their parents, up the tree. */
  function* settle(written: string[]): Flow<Settled> {
    const out: Settled = { woken: [], cancelRequested: [] };
    let todo = written;
    for (let depth = 0; todo.length && depth < MAX_LEVELS; depth++) {
      const next: string[] = [];
      for (let i = 0; i < todo.length; i += MAX_IDS) {
        const chunk = todo.slice(i, i + MAX_IDS);
        const { rows } = yield q(
          `SELECT id, name, state, parent_id, batch_id FROM ${t.jobs} WHERE id IN (${marks(chunk.length)}) AND child_status = 0 AND state IN ${FINISHED}`,
          ids(chunk),
        );
        if (!rows.length) continue;
        // A batch's job needs no keeping once counted (the batch keeps the counts): 2 at once.
        yield q(
          `UPDATE ${t.jobs} SET child_status = CASE WHEN parent_id IS NULL THEN 2 ELSE 1 END WHERE id IN (${marks(rows.length)}) AND child_status = 0`,
          rows.map((r) => id(String(r.id))),
        );
        next.push(...(yield* countInto(rows, out)));
        yield* batches.countInto(rows.filter((r) => r.batch_id != null), out.woken);
      }
      todo = next;
    }
    return out;
  }

  return {
    /** `inner` (a finishing transition returning the ids it wrote), then `settle` of them, in one transaction. */
    after(inner: Step<string[]>, done: (s: Settled) => void): Step<string[]> {
      return step(inner.mode === 'tx-read-committed' ? inner.mode : 'tx', function* () {
        const written = yield* inner.make();
        done(written.length ? yield* settle(written) : { woken: [], cancelRequested: [] });
        return written;
      });
    },

    /** `cancel`: a waiting parent is cancelled with its pending descendants; any other job as `inner` cancels it. Then `settle`. */
    cancel(jobId: string, inner: Step<Row | null>, done: (s: Settled) => void): Step<Row | null> {
      return step('tx', function* () {
        const out: Settled = { woken: [], cancelRequested: [] };
        const { rows } = yield q(`SELECT queue, state FROM ${t.jobs} WHERE id = ?${lock}`, [id(jobId)]);
        if (rows[0]?.state === 'waiting') {
          yield q(`UPDATE ${t.jobs} SET failed_at = ${now}, pending_children = 0, state = 'cancelled' WHERE id = ? AND state = 'waiting'`, [id(jobId)]);
          yield common.applyDeltas([{ queue: asString(rows[0].queue), event: 'waiting', n: -1 }]);
          yield* release(jobId);
          yield* cancelUnder([jobId], out);
        } else {
          yield* inner.make();
        }
        const settled = yield* settle([jobId]);
        done({ woken: settled.woken, cancelRequested: [...out.cancelRequested, ...settled.cancelRequested] });
        return (yield common.get(jobId)).rows[0] ?? null;
      });
    },

    /** The repair pass (see `flowLinks`); returns how many children and parents it moved. */
    repair(limit: number, done: (s: Settled) => void): Step<number> {
      return step('tx', function* () {
        const out: Settled = { woken: [], cancelRequested: [] };
        let moved = 0;
        const { rows } = yield q(`SELECT id FROM ${t.jobs} WHERE child_status = 0 AND state IN ${FINISHED} ORDER BY id LIMIT ?`, [limit]);
        for (const r of rows) {
          const settled = yield* settle([String(r.id)]);
          out.woken.push(...settled.woken);
          out.cancelRequested.push(...settled.cancelRequested);
          moved++;
        }
        const stuck = yield q(
          `SELECT p.id FROM ${t.jobs} p WHERE p.state = 'waiting' AND NOT EXISTS (
             SELECT 1 FROM ${t.jobs} c WHERE c.parent_id = p.id AND (c.child_status = 0 OR c.state NOT IN ${FINISHED})) ORDER BY p.id LIMIT ?`,
          [limit],
        );
        for (const r of stuck.rows) {
          const parent = yield* lockParent(String(r.id));
          if (!parent || parent.state !== 'waiting') continue;
          const kids = (yield q(`SELECT id, name, state FROM ${t.jobs} WHERE parent_id = ? ORDER BY id`, [id(String(r.id))])).rows;
          const dead = yield* moveOn(parent, kids.find((k) => FAILED.has(asString(k.state))) ?? null, out);
          if (dead) {
            const settled = yield* settle([dead]);
            out.woken.push(...settled.woken);
            out.cancelRequested.push(...settled.cancelRequested);
          }
          moved++;
        }
        done(out);
        return moved;
      });
    },

    /**
     * Links a level of just-inserted nodes: children get their parent (`child_status` 0);
     * parents wait, with their children's count, out of the pending count they were stored in.
     */
    link(nodes: LinkNode[]): Step<void> {
      return step('tx', function* () {
        const byParent = new Map<string, string[]>();
        for (const n of nodes) {
          if (n.parentId === null) continue;
          const list = byParent.get(n.parentId) ?? [];
          list.push(n.id);
          byParent.set(n.parentId, list);
        }
        for (const [pid, kids] of byParent) {
          for (let i = 0; i < kids.length; i += MAX_IDS) {
            const chunk = kids.slice(i, i + MAX_IDS);
            yield q(`UPDATE ${t.jobs} SET parent_id = ?, child_status = 0 WHERE id IN (${marks(chunk.length)})`, [id(pid), ...ids(chunk)]);
          }
        }
        const parents = nodes.filter((n) => n.children > 0);
        for (let i = 0; i < parents.length; i += MAX_IDS) {
          const chunk = parents.slice(i, i + MAX_IDS);
          const { rows } = yield q(`SELECT id, queue, ${runAt} FROM ${t.jobs} WHERE id IN (${marks(chunk.length)}) AND state IN ${PENDING}`, chunk.map((n) => id(n.id)));
          for (const n of chunk) {
            yield q(`UPDATE ${t.jobs} SET pending_children = ?, on_child_failure = ?, state = 'waiting' WHERE id = ?`, [n.children, n.onChildFailure, id(n.id)]);
          }
          // Out of the pending count the INSERT put them in, into the waiting one.
          if (rows.length) {
            yield common.applyDeltas(rows.flatMap((r): CountDelta[] => [
              { queue: asString(r.queue), event: 'pending', n: -1, runAt: r.run_at },
              { queue: asString(r.queue), event: 'waiting', n: 1 },
            ]));
          }
        }
      });
    },

    retry: retries.retry,
    createBatch: batches.create,
    joinBatch: batches.join,
    getBatch: batches.get,

    /** A parent's children, by id, as `get` returns a job. */
    children(parentId: string): Step<Row[]> {
      return step('read', function* () {
        return (yield q(`SELECT ${columns} FROM ${t.jobs} WHERE parent_id = ? ORDER BY id`, [id(parentId)])).rows;
      });
    },
  };
}

export type FlowLinks = ReturnType<typeof flowLinks>;
