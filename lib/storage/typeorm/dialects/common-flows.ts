import type { JobState } from '../../../core/job-record.js';
import type { CounterRow, CounterWindow, Dialect, ListWhere, StateCountRow } from '../dialect.js';
import { step, type Flow, type Row, type Sql } from '../flow.js';
import { asBool, asNumber, asString } from '../job-row.js';

/**
 * Statements whose flow is the same on every database (one statement, or a fixed
 * sequence); each dialect supplies its own SQL for them.
 */
export interface CommonStatements {
  now(): Sql;
  get(id: string): Sql;
  byUniqueKey(uniqueKey: string): Sql;
  holders(keys: string[]): Sql;
  list(where: ListWhere, limit: number, before: string | null): Sql;
  progress(id: string, workerId: string, percent: number, data: string | null | undefined): Sql;
  /** Pending → cancelled; running → cancel requested. May return the row (RETURNING). */
  cancel(id: string): Sql;
  /** A finished job back to available; `reacquire`: take its unique key back. */
  retry(id: string, reacquire: boolean): Sql;
  stateCounts(): Sql;
  counters(window: CounterWindow): Sql;
  pause(queue: string): Sql;
  resume(queue: string): Sql;
  pausedQueues(): Sql;
  prune(olderThan: Date, state: JobState, limit: number): Sql;
  pruneCounters(window: CounterWindow): Sql;
}

type CommonFlows = Pick<
  Dialect,
  | 'now' | 'get' | 'findByUniqueKey' | 'holders' | 'list' | 'progress' | 'cancel' | 'retry'
  | 'stateCounts' | 'counters' | 'pause' | 'resume' | 'pausedQueues' | 'prune' | 'pruneCounters'
>;

const FINISHED = new Set(['completed', 'dead', 'cancelled']);

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
    list: (where, limit, before) => step('read', function* () {
      return (yield s.list(where, limit, before)).rows;
    }),
    progress: (id, workerId, percent, data) => step('write', function* () {
      yield s.progress(id, workerId, percent, data);
    }),
    cancel: (id) => step('write', function* () {
      const { rows } = yield s.cancel(id);
      return rows[0] ?? (yield* first(s.get(id)));
    }),
    // Read, then write: the key is taken back only if no other job holds it now; a racing
    // enqueue of the same key makes the UPDATE fail on the unique index (retry() is an
    // admin action: the caller sees the error and tries again).
    retry: (id) => step('write', function* () {
      const job: Row | null = yield* first(s.get(id));
      if (!job || !FINISHED.has(asString(job.state))) return job;
      let reacquire = false;
      if (job.unique_key != null) {
        const key = asString(job.unique_key);
        const held = yield* holders([key]);
        reacquire = !held.has(key) || held.get(key) === id;
      }
      yield s.retry(id, reacquire);
      return yield* first(s.get(id));
    }),
    stateCounts: () => step('read', function* () {
      const { rows } = yield s.stateCounts();
      return rows.map((r): StateCountRow => ({
        queue: asString(r.queue),
        state: asString(r.state) as JobState,
        due: asBool(r.due),
        n: asNumber(r.n),
      }));
    }),
    counters: (window) => step('read', function* () {
      const { rows } = yield s.counters(window);
      return rows.map((r): CounterRow => ({
        queue: asString(r.queue),
        event: asString(r.event) === 'died' ? 'died' : 'completed',
        lastHour: asNumber(r.last_hour),
        today: asNumber(r.today),
        thisMonth: asNumber(r.this_month),
        allTime: asNumber(r.all_time),
      }));
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
    prune: (olderThan, state, limit) => step('write', function* () {
      return (yield s.prune(olderThan, state, limit)).affected;
    }),
    pruneCounters: (window) => step('write', function* () {
      return (yield s.pruneCounters(window)).affected;
    }),
  };
}
