import { createHash } from 'node:crypto';
import type { Dialect } from '../dialect.js';
import { sql, step, type Flow, type Row, type Sql } from '../flow.js';
import { asNumber, asString } from '../job-row.js';
import type { TableNames } from '../table-names.js';
import { EPOCH_MS } from './mysql.statements.js';
import { MINUTE_NOW } from './postgres.statements.js';
import { NOW as SQLITE_NOW } from './sqlite.statements.js';

/**
 * The statements of one recount per database (see README, "Statistics"): the state counts
 * (pending by due bucket, running, dead, and waiting: flow parents waiting for their children) recomputed from the jobs and compared with what the
 * counters and unfolded deltas hold, both read in ONE statement (one snapshot); the
 * difference is then added as a correction. Adding the difference, rather than overwriting
 * the counts, is what makes it safe beside concurrent writers without holding them off: a
 * write committed before the snapshot is in both the row count and the stored counts, one
 * committed after it in neither (each write changes its rows and records its count change in
 * one transaction), and folds only move amounts between deltas and counters. Recounts
 * themselves take a lock, so two never add the same correction.
 *
 * What no recount can recompute: the `completed` and `died` counts by period. They are
 * history (events), and the rows they came from are pruned (completed jobs after retention,
 * dead ones by `prune()`) or changed (a dead job retried): those counts stay as the writes
 * kept them.
 */

/** Seconds a recount waits for another one's named lock on MariaDB (PostgreSQL's advisory lock waits for the other's commit). */
const LOCK_WAIT_S = 60;

const COUNTED = `('waiting', 'scheduled', 'available', 'retryable', 'running', 'dead')`;
const PENDING = `('scheduled', 'available', 'retryable')`;
const STATE_EVENTS = `('pending', 'running', 'dead', 'waiting')`;

/** One count that differs: add `n` to (queue, event, bucket). */
export interface Correction {
  queue: string;
  event: string;
  bucket: number;
  n: number;
}

/**
 * Row counts (`src = 'jobs'`) minus stored counts (`src = 'kept'`) per (queue, event, bucket),
 * both already bucketed against one minute; the keys that differ, in a fixed order.
 */
export function corrections(rows: Row[]): Correction[] {
  const diff = new Map<string, Correction>();
  for (const r of rows) {
    const c = { queue: asString(r.queue), event: asString(r.event), bucket: asNumber(r.bucket), n: 0 };
    const key = `${c.queue}\u0000${c.event}\u0000${c.bucket}`;
    const entry = diff.get(key) ?? diff.set(key, c).get(key)!;
    entry.n += asString(r.src) === 'jobs' ? asNumber(r.n) : -asNumber(r.n);
  }
  return [...diff.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, c]) => c)
    .filter((c) => c.n !== 0);
}

/** A 64-bit key per schema and prefix for the recount lock (see the migrator's lock). */
function recountKey(t: TableNames): string {
  return createHash('sha256').update(`nestjs-background-jobs:recount:${t.schema ?? ''}:${t.prefix}`).digest().readBigInt64BE(0).toString();
}

/** The shared flow: the minute to bucket against, the one-snapshot read, the corrections written. */
function* recountFlow(minute: Sql, read: (minute: number) => Sql, write: (c: Correction[]) => Sql[]): Flow<number> {
  const { rows: now } = yield minute;
  const found = corrections((yield read(asNumber(now[0]?.m))).rows);
  for (const statement of found.length ? write(found) : []) yield statement;
  return found.length;
}

/**
 * PostgreSQL: one transaction under an advisory transaction lock (held to the commit, so a
 * second recount reads after the first one's correction is in). The read is one statement,
 * so one snapshot; the corrections go to the delta table like any write's count changes.
 */
export function postgresRecount(t: TableNames): Dialect['recount'] {
  const bucket = `(floor(extract(epoch from run_at) / 60) * 60000)::bigint`;
  return () => step('tx', function* () {
    yield sql(`SELECT pg_advisory_xact_lock($1::bigint)`, [recountKey(t)]);
    return yield* recountFlow(
      sql(`SELECT ${MINUTE_NOW} AS m`),
      (minute) =>
        sql(
          `SELECT 'jobs' AS src, queue, event, bucket, count(*)::float8 AS n FROM (
             SELECT queue, CASE WHEN state IN ${PENDING} THEN 'pending' ELSE state END AS event,
                    CASE WHEN state IN ${PENDING} AND ${bucket} > $1 THEN ${bucket} ELSE 0 END AS bucket
             FROM ${t.jobs} WHERE state IN ${COUNTED}) j
           GROUP BY queue, event, bucket
           UNION ALL
           SELECT 'kept', queue, event, bucket, sum(n)::float8 FROM (
             SELECT queue, event, CASE WHEN bucket > $1 THEN bucket ELSE 0 END AS bucket, n FROM ${t.counters} WHERE grain = 's'
             UNION ALL
             SELECT queue, event, CASE WHEN bucket > $1 THEN bucket ELSE 0 END, n FROM ${t.deltas} WHERE event IN ${STATE_EVENTS}) k
           GROUP BY queue, event, bucket`,
          [minute],
        ),
      (found) => [
        sql(`INSERT INTO ${t.deltas} (queue, event, bucket, n) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])`, [
          found.map((c) => c.queue),
          found.map((c) => c.event),
          found.map((c) => c.bucket),
          found.map((c) => c.n),
        ]),
      ],
    );
  });
}

/**
 * MariaDB: a named lock (GET_LOCK) around a one-statement read (one read view) and an INSERT
 * of the corrections into the delta table, which commits by itself; the lock is released
 * after it, so a second recount reads the first one's correction. `finally` releases it
 * when a statement fails too (a lost connection releases it anyway).
 */
export function mysqlRecount(t: TableNames): Dialect['recount'] {
  const ms = `(TIMESTAMPDIFF(MICROSECOND, '1970-01-01', run_at) DIV 60000000) * 60000`;
  const name = `jobs-recount:${recountKey(t)}`;
  return () => step('write', function* () {
    const { rows } = yield sql(`SELECT GET_LOCK(SHA1(CONCAT(?, ':', DATABASE())), ?) AS got`, [name, LOCK_WAIT_S]);
    if (asNumber(rows[0]?.got) !== 1) throw new Error(`another recount held the recount lock for ${LOCK_WAIT_S} s`);
    try {
      return yield* recountFlow(
        sql(`SELECT (${EPOCH_MS} DIV 60000) * 60000 AS m`),
        (minute) =>
          sql(
            `SELECT 'jobs' AS src, queue, e AS event, b AS bucket, COUNT(*) AS n FROM (
               SELECT queue, CASE WHEN state IN ${PENDING} THEN 'pending' ELSE state END AS e,
                      CASE WHEN state IN ${PENDING} AND ${ms} > ? THEN ${ms} ELSE 0 END AS b
               FROM ${t.jobs} WHERE state IN ${COUNTED}) j
             GROUP BY queue, e, b
             UNION ALL
             SELECT 'kept', queue, event, b, SUM(n) FROM (
               SELECT queue, event, CASE WHEN bucket > ? THEN bucket ELSE 0 END AS b, n FROM ${t.counters} WHERE grain = 's'
               UNION ALL
               SELECT queue, event, CASE WHEN bucket > ? THEN bucket ELSE 0 END, n FROM ${t.deltas} WHERE event IN ${STATE_EVENTS}) k
             GROUP BY queue, event, b`,
            [minute, minute, minute],
          ),
        (found) => {
          const out: Sql[] = [];
          for (let i = 0; i < found.length; i += 1000) {
            const chunk = found.slice(i, i + 1000);
            out.push(
              sql(
                `INSERT INTO ${t.deltas} (queue, event, bucket, n) VALUES ${chunk.map(() => '(?, ?, ?, ?)').join(', ')}`,
                chunk.flatMap((c) => [c.queue, c.event, c.bucket, c.n]),
              ),
            );
          }
          return out;
        },
      );
    } finally {
      yield sql(`SELECT RELEASE_LOCK(SHA1(CONCAT(?, ':', DATABASE()))) AS released`, [name]);
    }
  });
}

/**
 * SQLite: one BEGIN IMMEDIATE transaction (the database's one writer is ours meanwhile); the
 * corrections go straight into the counters, as SQLite's writes do, and counts left at zero
 * are dropped.
 */
export function sqliteRecount(t: TableNames): Dialect['recount'] {
  return () => step('tx', function* () {
    return yield* recountFlow(
      sql(`SELECT (${SQLITE_NOW} / 60000) * 60000 AS m`),
      (minute) =>
        sql(
          `SELECT 'jobs' AS src, queue, event, bucket, count(*) AS n FROM (
             SELECT queue, CASE WHEN state IN ${PENDING} THEN 'pending' ELSE state END AS event,
                    CASE WHEN state IN ${PENDING} AND (run_at / 60000) * 60000 > ? THEN (run_at / 60000) * 60000 ELSE 0 END AS bucket
             FROM ${t.jobs} WHERE state IN ${COUNTED})
           GROUP BY queue, event, bucket
           UNION ALL
           SELECT 'kept', queue, event, CASE WHEN bucket > ? THEN bucket ELSE 0 END AS b, sum(n) FROM ${t.counters}
           WHERE grain = 's' GROUP BY queue, event, b`,
          [minute, minute],
        ),
      (found) => [
        // As JSON: its numbers come out of json_each as integers (better-sqlite3 binds a JS number as REAL).
        sql(
          `INSERT INTO ${t.counters} (grain, bucket, queue, event, n)
           SELECT 's', value ->> 'b', value ->> 'q', value ->> 'e', value ->> 'n' FROM json_each(?) WHERE true
           ON CONFLICT (grain, bucket, queue, event) DO UPDATE SET n = n + excluded.n`,
          [JSON.stringify(found.map((c) => ({ q: c.queue, e: c.event, b: c.bucket, n: c.n })))],
        ),
        sql(`DELETE FROM ${t.counters} WHERE grain = 's' AND n = 0`),
      ],
    );
  });
}
