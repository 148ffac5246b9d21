import type { JobState } from '../../../core/job-record.js';
import type { CountDelta, CounterWindow, Dialect, ListWhere, StatsRow } from '../dialect.js';
import { step, type Flow, type Row, type Sql } from '../flow.js';
import { PRIORITY_MIN } from '../../../core/option-rules.js';
import { asDate, asNumber, asString } from '../job-row.js';
import { countByQueue } from './batch-helpers.js';

/**
 * Statements whose flow is the same on every database (one statement, or a fixed
 * sequence); each dialect supplies its own SQL for them.
 */
export interface CommonStatements {
  now(): Sql;
  get(id: string): Sql;
  byUniqueKey(uniqueKey: string): Sql;
  /** `id, unique_active` of the jobs holding these keys now: in their states, within their windows. */
  holders(keys: string[]): Sql;
  /** Holders of these keys whose window has ended give the key up (`unique_active` NULL). */
  releaseExpired(keys: string[]): Sql;
  list(where: ListWhere, limit: number, before: string | null): Sql;
  progress(id: string, workerId: string, percent: number, data: string | null | undefined): Sql;
  /** Pending → cancelled; running → cancel requested. May return the row (RETURNING). */
  cancel(id: string): Sql;
  /** A finished job back to available (run_at now); `reacquire`: take its unique key back. */
  retry(id: string, reacquire: boolean): Sql;
  /** A pending job: available, run_at now. */
  runNow(id: string): Sql;
  /** `id, queue, state, run_at, unique_key` of one job, locked for the rest of the transaction. */
  lockJob(id: string): Sql;
  /** Records changes of the roll-up counts (see `CountDelta`). */
  applyDeltas(deltas: CountDelta[]): Sql;
  statsRows(at: number, window: CounterWindow): Sql;
  /**
   * `priority, run_at` of the first pending job of `queue` in claim order among priorities
   * above `afterPriority`: the lowest such priority's earliest `run_at`. One probe of the
   * claim index (its columns are queue, priority, run_at, id).
   */
  firstPendingAfter(queue: string, afterPriority: number): Sql;
  /** `run_at` (or NULL): the earliest due pending job of `queue` among priorities above `afterPriority`; an aggregate over the claim index. */
  earliestDueAfter(queue: string, afterPriority: number): Sql;
  pause(queue: string): Sql;
  resume(queue: string): Sql;
  pausedQueues(): Sql;
  /** Deletes a bounded batch; RETURNING the deleted rows' `queue`. */
  prune(olderThan: Date, state: JobState, limit: number, queue: string | null): Sql;
  pruneCounters(window: CounterWindow): Sql;
}

type CommonFlows = Pick<
  Dialect,
  | 'now' | 'get' | 'findByUniqueKey' | 'holders' | 'releaseExpired' | 'list' | 'progress' | 'cancel' | 'retry' | 'runNow'
  | 'statsRows' | 'oldestAvailable' | 'pause' | 'resume' | 'pausedQueues' | 'prune' | 'pruneCounters'
>;

const FINISHED = new Set(['completed', 'dead', 'cancelled']);
const PENDING = new Set(['scheduled', 'available', 'retryable']);
const SOURCES = new Set(['counter', 'delta', 'boundary']);

/**
 * Distinct priorities probed per queue by `oldestAvailable` before the rest are read in one
 * aggregate. Apps use a handful of priorities; past this many, the aggregate reads the
 * remaining pending entries of the claim index, which is still bounded by the queue's backlog.
 */
const MAX_PRIORITY_PROBES = 16;

export function commonFlows(s: CommonStatements): CommonFlows {
  const first = function* (q: Sql): Flow<Row | null> {
    const { rows } = yield q;
    return rows[0] ?? null;
  };
  const holders = function* (keys: string[]): Flow<Map<string, string>> {
    const out = new Map<string, string>();
    if (!keys.length) return out;
    const { rows } = yield s.holders(keys);
    for (const r of rows) out.set(asString(r.unique_active), asString(r.id));
    return out;
  };
  return {
    now: () => step('read', function* () {
      const { rows } = yield s.now();
      return Math.floor(asNumber(rows[0]?.now));
    }),
    get: (id) => step('read', () => first(s.get(id))),
    findByUniqueKey: (key) => step('read', () => first(s.byUniqueKey(key))),
    holders: (keys) => step('read', () => holders(keys)),
    releaseExpired: (keys) => step('write', function* () {
      return keys.length ? (yield s.releaseExpired(keys)).affected : 0;
    }),
    list: (where, limit, before) => step('read', function* () {
      return (yield s.list(where, limit, before)).rows;
    }),
    progress: (id, workerId, percent, data) => step('write', function* () {
      yield s.progress(id, workerId, percent, data);
    }),
    // Locked first, so the pending count it gives up is the one it had.
    cancel: (id) => step('tx', function* () {
      const before = yield* first(s.lockJob(id));
      if (!before) return null;
      const { rows } = yield s.cancel(id);
      if (PENDING.has(asString(before.state))) {
        yield s.applyDeltas([{ queue: asString(before.queue), event: 'pending', n: -1, runAt: before.run_at }]);
      }
      return rows[0] ?? (yield* first(s.get(id)));
    }),
    // Read, then write: the key is taken back only if no other job holds it now (a holder
    // whose window has ended gives it up first, or the unique index would refuse the UPDATE);
    // a racing enqueue of the same key makes the UPDATE fail on the unique index (retry() is
    // an admin action: the caller sees the error and tries again).
    retry: (id) => step('tx', function* () {
      const job: Row | null = yield* first(s.lockJob(id));
      if (!job || !FINISHED.has(asString(job.state))) return job && (yield* first(s.get(id)));
      let reacquire = false;
      if (job.unique_key != null) {
        const key = asString(job.unique_key);
        yield s.releaseExpired([key]);
        const held = yield* holders([key]);
        reacquire = !held.has(key) || held.get(key) === id;
      }
      yield s.retry(id, reacquire);
      const queue = asString(job.queue);
      const deltas: CountDelta[] = [{ queue, event: 'pending', n: 1 }];
      if (asString(job.state) === 'dead') deltas.push({ queue, event: 'dead', n: -1 });
      yield s.applyDeltas(deltas);
      return yield* first(s.get(id));
    }),
    // Locked first, so the pending count leaves the bucket of the run_at it had, for "due".
    runNow: (id) => step('tx', function* () {
      const before = yield* first(s.lockJob(id));
      if (!before) return null;
      if (PENDING.has(asString(before.state))) {
        yield s.runNow(id);
        const queue = asString(before.queue);
        yield s.applyDeltas([{ queue, event: 'pending', n: -1, runAt: before.run_at }, { queue, event: 'pending', n: 1 }]);
      }
      return yield* first(s.get(id));
    }),
    // One statement, so counters, deltas and the boundary count come from one snapshot.
    statsRows: (at, window) => step('read', function* () {
      const { rows } = yield s.statsRows(at, window);
      return rows.map((r): StatsRow => {
        const src = asString(r.src);
        if (!SOURCES.has(src)) throw new Error(`unexpected stats row source '${src}'`);
        return { src: src as StatsRow['src'], grain: asString(r.grain), bucket: asNumber(r.bucket), queue: asString(r.queue), event: asString(r.event), n: asNumber(r.n) };
      });
    }),
    // A loose index scan: for each distinct priority waiting in the queue, the claim index's
    // first entry is that priority's earliest run_at, so the oldest due job is the earliest of
    // those that are due. One probe per priority instead of reading every pending row (an
    // index on (queue, run_at) would serve it in one, but cost a write on every claim and finish).
    oldestAvailable: (queues) => step('read', function* () {
      const now = Math.floor(asNumber((yield s.now()).rows[0]?.now));
      const oldest = new Map<string, Date>();
      const keep = (queue: string, runAt: Date) => {
        const seen = oldest.get(queue);
        if (runAt.getTime() <= now && (!seen || runAt < seen)) oldest.set(queue, runAt);
      };
      for (const queue of queues) {
        let after = PRIORITY_MIN - 1;
        for (let probe = 0; ; probe++) {
          if (probe === MAX_PRIORITY_PROBES) {
            const rest = (yield s.earliestDueAfter(queue, after)).rows[0]?.run_at;
            if (rest != null) keep(queue, asDate(rest));
            break;
          }
          const row = (yield s.firstPendingAfter(queue, after)).rows[0];
          if (!row) break;
          keep(queue, asDate(row.run_at));
          after = asNumber(row.priority);
        }
      }
      return { now, oldest };
    }),
    pause: (queue) => step('write', function* () {
      yield s.pause(queue);
    }),
    resume: (queue) => step('write', function* () {
      yield s.resume(queue);
    }),
    pausedQueues: () => step('read', function* () {
      return (yield s.pausedQueues()).rows.map((r) => asString(r.queue));
    }),
    // Dead jobs leave the dead count; completed and cancelled ones are in no state count.
    prune: (olderThan, state, limit, queue) => step('tx', function* () {
      const { rows } = yield s.prune(olderThan, state, limit, queue);
      if (state === 'dead' && rows.length) {
        yield s.applyDeltas(countByQueue(rows).map(({ q, n }) => ({ queue: q, event: 'dead', n: -n })));
      }
      return rows.length;
    }),
    pruneCounters: (window) => step('write', function* () {
      return (yield s.pruneCounters(window)).affected;
    }),
  };
}
