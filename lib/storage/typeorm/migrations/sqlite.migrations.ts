import { ALL_STATES, FINISHED_STATES, PENDING_STATES, type Migration } from './migration.js';

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
];
