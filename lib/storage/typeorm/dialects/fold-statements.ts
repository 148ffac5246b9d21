import type { Dialect } from '../dialect.js';
import { sql, step, type Row } from '../flow.js';
import { asNumber, asString } from '../job-row.js';
import type { TableNames } from '../table-names.js';
import { EPOCH_MS } from './mysql.statements.js';
import { MINUTE_NOW } from './postgres.statements.js';
import { NOW as SQLITE_NOW } from './sqlite.statements.js';

/**
 * The statements of one fold of count deltas into the counters, per database (see README,
 * "Stats"; when folds run is `fold-scheduler.ts`'s business). A fold takes a batch of
 * delta rows, deletes them and adds their sums to the counter rows in one transaction, so
 * each delta is counted exactly once whoever folds and whenever `stats()` reads. Pending
 * buckets whose minute has come move into bucket 0, which keeps the 's' rows per queue few.
 */

const EVENT_GRAINS = ['a', 'h', 'm'] as const;

/** Counter rows (grain, bucket, queue, event, n) that a list of summed deltas adds to. */
function counterRows(deltas: Row[], minute: number): Array<[string, number, string, string, number]> {
  const sums = new Map<string, [string, number, string, string, number]>();
  const add = (grain: string, bucket: number, queue: string, event: string, n: number) => {
    const key = `${grain}\u0000${bucket}\u0000${queue}\u0000${event}`;
    const row = sums.get(key);
    if (row) row[4] += n;
    else sums.set(key, [grain, bucket, queue, event, n]);
  };
  for (const d of deltas) {
    const [queue, event, bucket, n] = [asString(d.queue), asString(d.event), asNumber(d.bucket), asNumber(d.n)];
    if (event === 'completed' || event === 'died') {
      for (const g of EVENT_GRAINS) add(g, g === 'a' ? 0 : g === 'h' ? Math.floor(bucket / 3_600_000) * 3_600_000 : bucket, queue, event, n);
    } else add('s', event === 'pending' && bucket <= minute ? 0 : bucket, queue, event, n);
  }
  // Sorted: concurrent folds lock counter rows in one order.
  return [...sums.values()].sort((a, b) => (a.slice(0, 4).join('\u0000') < b.slice(0, 4).join('\u0000') ? -1 : 1));
}

/**
 * PostgreSQL: one statement per batch. SKIP LOCKED splits the deltas between concurrent
 * folds; the DELETE … RETURNING and the counter upsert commit together.
 */
export function postgresFold(t: TableNames): Dialect['foldCounters'] {
  return (limit) => step('write', function* () {
    const { rows } = yield sql(
      `WITH moved AS (
         DELETE FROM ${t.deltas}
         WHERE id = ANY (ARRAY(SELECT id FROM ${t.deltas} ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED))
         RETURNING queue, event, bucket, n
       ), g AS (
         SELECT queue, event, CASE WHEN event = 'pending' AND bucket <= ${MINUTE_NOW} THEN 0 ELSE bucket END AS bucket, sum(n) AS n
         FROM moved GROUP BY 1, 2, 3
       ), x AS (
         SELECT 's'::text AS grain, bucket, queue, event, n FROM g WHERE event IN ('pending', 'running', 'dead', 'waiting')
         UNION ALL
         SELECT gr.grain, CASE gr.grain WHEN 'm' THEN g.bucket WHEN 'h' THEN g.bucket / 3600000 * 3600000 ELSE 0 END,
                g.queue, g.event, g.n
         FROM g CROSS JOIN (VALUES ('a'), ('h'), ('m')) AS gr(grain) WHERE g.event IN ('completed', 'died')
       ), ins AS (
         INSERT INTO ${t.counters} AS c (grain, bucket, queue, event, n)
         SELECT grain, bucket, queue, event, sum(n) FROM x GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
         ON CONFLICT (grain, bucket, queue, event) DO UPDATE SET n = c.n + excluded.n
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM moved)::int AS n`,
      [limit],
    );
    // A concurrent collapse waits on these rows and then finds them gone: each moves once.
    yield sql(
      `WITH old AS (
         DELETE FROM ${t.counters} WHERE grain = 's' AND event = 'pending' AND bucket > 0 AND bucket <= ${MINUTE_NOW}
         RETURNING queue, n)
       INSERT INTO ${t.counters} AS c (grain, bucket, queue, event, n)
       SELECT 's', 0, queue, 'pending', sum(n) FROM old GROUP BY queue ORDER BY queue
       ON CONFLICT (grain, bucket, queue, event) DO UPDATE SET n = c.n + excluded.n`,
    );
    return asNumber(rows[0]?.n ?? 0);
  });
}

/**
 * MariaDB: one READ COMMITTED transaction per batch: lock a batch of deltas (SKIP LOCKED),
 * add their sums to the counters, delete them; then move past pending buckets.
 */
export function mysqlFold(t: TableNames): Dialect['foldCounters'] {
  return (limit) => step('tx-read-committed', function* () {
    const { rows: now } = yield sql(`SELECT (${EPOCH_MS} DIV 60000) * 60000 AS m`);
    const minute = asNumber(now[0]?.m);
    const { rows } = yield sql(`SELECT id, queue, event, bucket, n FROM ${t.deltas} ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`, [limit]);
    if (rows.length) {
      yield upsertMysql(t, counterRows(rows, minute));
      const ids = rows.map((r) => asString(r.id));
      yield sql(`DELETE FROM ${t.deltas} WHERE id IN (${ids.map(() => '?').join(', ')})`, ids);
    }
    const { rows: past } = yield sql(
      `SELECT queue, bucket, n FROM ${t.counters} WHERE grain = 's' AND event = 'pending' AND bucket > 0 AND bucket <= ? FOR UPDATE`,
      [minute],
    );
    if (past.length) {
      yield upsertMysql(t, counterRows(past.map((r) => ({ ...r, event: 'pending', bucket: 0 })), minute));
      const keys = past.map((r) => [asString(r.queue), asNumber(r.bucket)]);
      yield sql(
        `DELETE FROM ${t.counters} WHERE grain = 's' AND event = 'pending' AND (queue, bucket) IN (${keys.map(() => '(?, ?)').join(', ')})`,
        keys.flat(),
      );
    }
    return rows.length;
  });
}

function upsertMysql(t: TableNames, rows: Array<[string, number, string, string, number]>) {
  return sql(
    `INSERT INTO ${t.counters} (grain, bucket, queue, event, n) VALUES ${rows.map(() => '(?, ?, ?, ?, ?)').join(', ')}
     ON DUPLICATE KEY UPDATE n = n + VALUES(n)`,
    rows.flat(),
  );
}

/** SQLite: writers update the counters directly (one writer: nothing to contend for); only past pending buckets move. */
export function sqliteFold(t: TableNames): Dialect['foldCounters'] {
  return () => step('tx', function* () {
    const { rows } = yield sql(`SELECT (${SQLITE_NOW} / 60000) * 60000 AS m`);
    const minute = asNumber(rows[0]?.m);
    yield sql(
      `INSERT INTO ${t.counters} (grain, bucket, queue, event, n)
       SELECT 's', 0, queue, 'pending', sum(n) FROM ${t.counters}
       WHERE grain = 's' AND event = 'pending' AND bucket > 0 AND bucket <= ?
       GROUP BY queue
       ON CONFLICT (grain, bucket, queue, event) DO UPDATE SET n = n + excluded.n`,
      [minute],
    );
    yield sql(`DELETE FROM ${t.counters} WHERE grain = 's' AND event = 'pending' AND bucket > 0 AND bucket <= ?`, [minute]);
    return 0;
  });
}
