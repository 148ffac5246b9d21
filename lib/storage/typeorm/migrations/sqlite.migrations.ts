import { sql, type Flow } from '../flow.js';
import { asString } from '../job-row.js';
import type { TableNames } from '../table-names.js';
import { ALL_STATES, ALL_STATES_9, FINISHED_STATES, PENDING_STATES, type Migration } from './migration.js';

export const sqliteMigrations: Migration[] = [
  {
    version: 1,
    name: 'jobs, paused queues, counters',
    up: (t) => [
      // STRICT: SQLite checks the column types. AUTOINCREMENT: ids are never reused after the
      // newest job is pruned, so ids seen earlier (cursors, logs) keep naming one job.
      // Times are epoch milliseconds.
      `CREATE TABLE IF NOT EXISTS ${t.jobs} (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        queue TEXT NOT NULL,
        name TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ${ALL_STATES}),
        priority INTEGER NOT NULL DEFAULT 0,
        attempt INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER,
        run_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        completed_at INTEGER,
        failed_at INTEGER,
        locked_by TEXT,
        locked_until INTEGER,
        last_error TEXT,
        unique_key TEXT,
        unique_while TEXT,
        unique_active TEXT,
        backoff TEXT,
        timeout_ms INTEGER,
        progress REAL,
        progress_data TEXT,
        result TEXT,
        cancel_requested INTEGER NOT NULL DEFAULT 0
      ) STRICT`,
      `CREATE INDEX IF NOT EXISTS ${t.index('claim_idx')} ON ${t.jobs} (queue, priority, run_at, id)
         WHERE state IN ${PENDING_STATES}`,
      `CREATE UNIQUE INDEX IF NOT EXISTS ${t.index('unique_idx')} ON ${t.jobs} (unique_active)
         WHERE unique_active IS NOT NULL`,
      `CREATE INDEX IF NOT EXISTS ${t.index('lease_idx')} ON ${t.jobs} (locked_until) WHERE state = 'running'`,
      `CREATE INDEX IF NOT EXISTS ${t.index('state_idx')} ON ${t.jobs} (state, queue, run_at)`,
      `CREATE INDEX IF NOT EXISTS ${t.index('queue_idx')} ON ${t.jobs} (queue, id)`,
      `CREATE INDEX IF NOT EXISTS ${t.index('finished_idx')} ON ${t.jobs} (COALESCE(completed_at, failed_at, created_at))
         WHERE state IN ${FINISHED_STATES}`,
      `CREATE TABLE IF NOT EXISTS ${t.paused} (
        queue TEXT PRIMARY KEY,
        paused_at INTEGER NOT NULL
      ) STRICT`,
      `CREATE TABLE IF NOT EXISTS ${t.counters} (
        grain TEXT NOT NULL,
        bucket INTEGER NOT NULL,
        queue TEXT NOT NULL,
        event TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (grain, bucket, queue, event)
      ) STRICT, WITHOUT ROWID`,
    ],
  },
  {
    version: 2,
    name: 'state counters',
    // SQLite has one writer: the hot paths update `counter` directly, no delta table.
    up: (t) => [
      `DELETE FROM ${t.counters} WHERE grain = 's'`,
      `INSERT INTO ${t.counters} (grain, bucket, queue, event, n)
       SELECT 's',
              CASE WHEN state IN ${PENDING_STATES}
                        AND run_at / 60000 > CAST(ROUND(unixepoch('subsec') * 1000) AS INTEGER) / 60000
                   THEN (run_at / 60000) * 60000 ELSE 0 END,
              queue,
              CASE WHEN state IN ${PENDING_STATES} THEN 'pending' ELSE state END,
              count(*)
       FROM ${t.jobs} WHERE state IN ('scheduled', 'available', 'retryable', 'running', 'dead')
       GROUP BY 2, 3, 4`,
    ],
  },
  {
    version: 3,
    name: 'drop state_idx and queue_idx; narrow partial indexes for reads',
    // See the PostgreSQL migration 3: every state change wrote both full-table indexes.
    up: (t) => [
      `DROP INDEX IF EXISTS ${t.index('state_idx')}`,
      `DROP INDEX IF EXISTS ${t.index('queue_idx')}`,
      `CREATE INDEX IF NOT EXISTS ${t.index('dead_idx')} ON ${t.jobs} (queue, id) WHERE state = 'dead'`,
      `CREATE INDEX IF NOT EXISTS ${t.index('future_idx')} ON ${t.jobs} (queue, run_at)
         WHERE state IN ('scheduled', 'retryable')`,
    ],
  },
  {
    version: 4,
    name: 'prefetched, rescued_unstarted: a crash costs attempts only of jobs that started',
    // See the PostgreSQL migration 4. Inside the migration's BEGIN IMMEDIATE: all or nothing.
    up: (t) => [
      `ALTER TABLE ${t.jobs} ADD COLUMN prefetched INTEGER NOT NULL DEFAULT 0`,
      `ALTER TABLE ${t.jobs} ADD COLUMN rescued_unstarted INTEGER NOT NULL DEFAULT 0`,
    ],
  },
  {
    version: 5,
    name: 'unique windows: unique_until',
    // See the PostgreSQL migration 5; epoch ms like every SQLite time. The whole migration
    // runs in one BEGIN IMMEDIATE, so ADD COLUMN (which has no IF NOT EXISTS here) runs once.
    up: (t) => [`ALTER TABLE ${t.jobs} ADD COLUMN unique_until INTEGER`],
  },
  {
    version: 6,
    name: 'interruptions: shutdown hand-backs counted per job',
    // See the PostgreSQL migration 6. The whole migration step is one BEGIN IMMEDIATE, so it
    // cannot be half-applied (SQLite has no ADD COLUMN IF NOT EXISTS).
    up: (t) => [`ALTER TABLE ${t.jobs} ADD COLUMN interruptions INTEGER NOT NULL DEFAULT 0`],
  },
  {
    version: 7,
    name: 'headers: a string-to-string map stored with each job',
    // See the PostgreSQL migration 7. The whole migration step is one BEGIN IMMEDIATE, so it
    // cannot be half-applied (SQLite has no ADD COLUMN IF NOT EXISTS).
    up: (t) => [`ALTER TABLE ${t.jobs} ADD COLUMN headers TEXT`],
  },
  {
    version: 8,
    name: 'queue limits: global concurrency, rate limits, blocks',
    // See the PostgreSQL migration 8. A claim of a limited queue runs in one BEGIN IMMEDIATE,
    // which serializes it with every other writer already.
    up: (t) => [
      `CREATE TABLE IF NOT EXISTS ${t.limits} (
        queue TEXT PRIMARY KEY,
        global_concurrency INTEGER,
        rate_limit INTEGER,
        rate_interval_ms INTEGER,
        blocked_until INTEGER,
        starts TEXT NOT NULL DEFAULT '[]',
        group_concurrency INTEGER,
        group_rate_limit INTEGER,
        group_rate_interval_ms INTEGER,
        group_blocked_until INTEGER,
        group_cursor TEXT
      ) STRICT`,
      `ALTER TABLE ${t.jobs} ADD COLUMN job_group TEXT`,
      `CREATE INDEX IF NOT EXISTS ${t.index('group_idx')} ON ${t.jobs} (queue, job_group, priority, run_at, id)
         WHERE state IN ${PENDING_STATES} AND job_group IS NOT NULL`,
      `CREATE TABLE IF NOT EXISTS ${t.groupLimits} (
        queue TEXT NOT NULL,
        grp TEXT NOT NULL,
        blocked_until INTEGER,
        starts TEXT NOT NULL DEFAULT '[]',
        last_start INTEGER,
        PRIMARY KEY (queue, grp)
      ) STRICT`,
    ],
  },
  {
    version: 9,
    name: 'flows and batches: waiting parents, parent_id, pending_children, on_child_failure, child_status, batch_id, batches',
    // See the PostgreSQL migration 9. SQLite cannot alter a CHECK constraint: the table is
    // rebuilt (`rebuildWithWaitingState`), inside the migration's one BEGIN IMMEDIATE.
    up: () => [],
    run: (t) => rebuildWithWaitingState(t),
  },
  {
    version: 10,
    name: 'queue slots: holds of a global concurrency per worker',
    // See the PostgreSQL migration 10.
    up: (t) => [
      `CREATE TABLE IF NOT EXISTS ${t.slots} (
        queue TEXT NOT NULL,
        worker_id TEXT NOT NULL,
        held INTEGER NOT NULL,
        wants INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (queue, worker_id)
      ) STRICT`,
    ],
  },
];

/**
 * SQLite's documented way to change a table's constraints: a new table from the stored
 * definition with the new CHECK (so every column any migration added is kept), the rows
 * copied, the old table dropped, the new one renamed, its indexes re-created from their
 * stored definitions, and the AUTOINCREMENT counter carried over (ids are never reused).
 * Then the flow columns and indexes.
 */
function* rebuildWithWaitingState(t: TableNames): Flow<void> {
  const name = `${t.prefix}job`;
  const tmp = `${t.prefix}job_rebuild_9`;
  const table = (yield sql(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?`, [name])).rows[0];
  const before = `CHECK (state IN ${ALL_STATES})`;
  const definition = table ? asString(table.sql) : '';
  if (!definition.includes(before)) throw new Error(`migration 9: table ${name} has no constraint ${before} to widen`);
  const created = definition.replace(before, `CHECK (state IN ${ALL_STATES_9})`).replace(/^CREATE TABLE\s+("[^"]+"|\S+)/, `CREATE TABLE "${tmp}"`);
  const indexes = (yield sql(`SELECT sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`, [name])).rows;
  const seq = (yield sql(`SELECT seq FROM sqlite_sequence WHERE name = ?`, [name])).rows[0];
  yield sql(created);
  yield sql(`INSERT INTO "${tmp}" SELECT * FROM ${t.jobs}`);
  yield sql(`DROP TABLE ${t.jobs}`);
  yield sql(`ALTER TABLE "${tmp}" RENAME TO "${name}"`);
  for (const index of indexes) yield sql(asString(index.sql));
  if (seq) yield sql(`UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?`, [seq.seq, name]);
  yield sql(`ALTER TABLE ${t.jobs} ADD COLUMN parent_id INTEGER`);
  yield sql(`ALTER TABLE ${t.jobs} ADD COLUMN pending_children INTEGER`);
  yield sql(`ALTER TABLE ${t.jobs} ADD COLUMN on_child_failure TEXT`);
  yield sql(`ALTER TABLE ${t.jobs} ADD COLUMN child_status INTEGER`);
  yield sql(`CREATE INDEX IF NOT EXISTS ${t.index('parent_idx')} ON ${t.jobs} (parent_id, id) WHERE parent_id IS NOT NULL`);
  yield sql(`CREATE INDEX IF NOT EXISTS ${t.index('uncounted_idx')} ON ${t.jobs} (id) WHERE child_status = 0 AND state IN ${FINISHED_STATES}`);
  yield sql(`CREATE INDEX IF NOT EXISTS ${t.index('waiting_idx')} ON ${t.jobs} (id) WHERE state = 'waiting'`);
  yield sql(`ALTER TABLE ${t.jobs} ADD COLUMN batch_id INTEGER`);
  yield sql(`CREATE INDEX IF NOT EXISTS ${t.index('batch_idx')} ON ${t.jobs} (batch_id, state) WHERE batch_id IS NOT NULL`);
  yield sql(`CREATE TABLE IF NOT EXISTS ${t.batches} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    total INTEGER NOT NULL,
    completed INTEGER NOT NULL DEFAULT 0,
    dead INTEGER NOT NULL DEFAULT 0,
    cancelled INTEGER NOT NULL DEFAULT 0,
    payload TEXT NOT NULL,
    callbacks TEXT NOT NULL,
    complete_fired INTEGER NOT NULL DEFAULT 0,
    success_fired INTEGER NOT NULL DEFAULT 0,
    failure_fired INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  ) STRICT`);
}
