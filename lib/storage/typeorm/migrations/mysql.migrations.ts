import type { TableNames } from '../table-names.js';
import { ALL_STATES, ALL_STATES_9, FINISHED_STATES, PENDING_STATES, type Migration } from './migration.js';

/** utf8mb4 for any text; binary collation so queue names and unique keys compare exactly. */
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

export const mysqlMigrations: Migration[] = [
  {
    version: 1,
    name: 'jobs, paused queues, counters',
    up: (t) => [
      `CREATE TABLE IF NOT EXISTS ${t.jobs} (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        queue VARCHAR(128) NOT NULL,
        name VARCHAR(128) NOT NULL,
        payload LONGTEXT NOT NULL,
        state VARCHAR(16) NOT NULL,
        priority INT NOT NULL DEFAULT 0,
        attempt INT NOT NULL DEFAULT 0,
        max_attempts INT NULL,
        run_at DATETIME(3) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        started_at DATETIME(3) NULL,
        completed_at DATETIME(3) NULL,
        failed_at DATETIME(3) NULL,
        locked_by VARCHAR(255) NULL,
        locked_until DATETIME(3) NULL,
        last_error LONGTEXT NULL,
        unique_key VARCHAR(255) NULL,
        unique_while VARCHAR(16) NULL,
        unique_active VARCHAR(255) NULL,
        backoff TEXT NULL,
        timeout_ms BIGINT NULL,
        progress DOUBLE NULL,
        progress_data LONGTEXT NULL,
        result LONGTEXT NULL,
        cancel_requested TINYINT(1) NOT NULL DEFAULT 0,
        -- No partial indexes here: generated columns that are NULL outside the rows an index
        -- is for stand in for them (pending jobs for the claim, finished ones for prune).
        pending_queue VARCHAR(128) AS (CASE WHEN state IN ${PENDING_STATES} THEN queue END) STORED,
        finished_at DATETIME(3) AS (CASE WHEN state IN ${FINISHED_STATES} THEN COALESCE(completed_at, failed_at, created_at) END) STORED,
        PRIMARY KEY (id),
        UNIQUE KEY ${t.index('unique_idx')} (unique_active),
        KEY ${t.index('claim_idx')} (pending_queue, priority, run_at, id),
        KEY ${t.index('lease_idx')} (state, locked_until),
        KEY ${t.index('state_idx')} (state, queue, run_at),
        KEY ${t.index('queue_idx')} (queue, id),
        KEY ${t.index('finished_idx')} (state, finished_at),
        CONSTRAINT ${t.index('state_check')} CHECK (state IN ${ALL_STATES})
      ) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS ${t.paused} (
        queue VARCHAR(128) NOT NULL PRIMARY KEY,
        paused_at DATETIME(3) NOT NULL
      ) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS ${t.counters} (
        grain CHAR(1) NOT NULL,
        bucket BIGINT NOT NULL,
        queue VARCHAR(128) NOT NULL,
        event VARCHAR(16) NOT NULL,
        n BIGINT NOT NULL,
        PRIMARY KEY (grain, bucket, queue, event)
      ) ${TABLE_OPTIONS}`,
    ],
  },
  {
    version: 2,
    name: 'state counters, counter deltas',
    up: (t) => [
      // See the PostgreSQL migration 2. Inserts into an AUTO_INCREMENT primary key with no
      // other index take no lock another inserter waits for.
      `CREATE TABLE IF NOT EXISTS ${t.deltas} (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        queue VARCHAR(128) NOT NULL,
        event VARCHAR(16) NOT NULL,
        bucket BIGINT NOT NULL,
        n BIGINT NOT NULL
      ) ${TABLE_OPTIONS}`,
      // Resumable: DDL commits implicitly, so a half-applied migration may run again.
      `DELETE FROM ${t.counters} WHERE grain = 's'`,
      `INSERT INTO ${t.counters} (grain, bucket, queue, event, n)
       SELECT 's', b, queue, e, COUNT(*) FROM (
         SELECT queue,
                CASE WHEN state IN ${PENDING_STATES}
                          AND TIMESTAMPDIFF(MICROSECOND, '1970-01-01', run_at) DIV 60000000
                              > TIMESTAMPDIFF(MICROSECOND, '1970-01-01', UTC_TIMESTAMP(3)) DIV 60000000
                     THEN (TIMESTAMPDIFF(MICROSECOND, '1970-01-01', run_at) DIV 60000000) * 60000 ELSE 0 END AS b,
                CASE WHEN state IN ${PENDING_STATES} THEN 'pending' ELSE state END AS e
         FROM ${t.jobs} WHERE state IN ('scheduled', 'available', 'retryable', 'running', 'dead')
       ) s GROUP BY b, queue, e`,
    ],
  },
  {
    version: 4,
    name: 'prefetched, rescued_unstarted: a crash costs attempts only of jobs that started',
    // See the PostgreSQL migration 4. (There is no MariaDB migration 3: it was withdrawn
    // before release.) IF NOT EXISTS: DDL commits implicitly, so a half-applied one may run again.
    up: (t) => [
      `ALTER TABLE ${t.jobs}
         ADD COLUMN IF NOT EXISTS prefetched TINYINT(1) NOT NULL DEFAULT 0,
         ADD COLUMN IF NOT EXISTS rescued_unstarted TINYINT(1) NOT NULL DEFAULT 0`,
    ],
  },
  {
    version: 5,
    name: 'unique windows: unique_until',
    up: (t) => [
      // See the PostgreSQL migration 5. IF NOT EXISTS: DDL commits implicitly, so a
      // half-applied migration may run again.
      `ALTER TABLE ${t.jobs} ADD COLUMN IF NOT EXISTS unique_until DATETIME(3) NULL`,
    ],
  },
  {
    version: 6,
    name: 'interruptions: shutdown hand-backs counted per job',
    up: (t) => [
      // See the PostgreSQL migration 6. Appended last with a constant default: MariaDB adds it
      // in place (instant ADD COLUMN); IF NOT EXISTS makes it resumable.
      `ALTER TABLE ${t.jobs} ADD COLUMN IF NOT EXISTS interruptions INT NOT NULL DEFAULT 0`,
    ],
  },
  {
    version: 7,
    name: 'headers: a string-to-string map stored with each job',
    up: (t) => [
      // See the PostgreSQL migration 7. TEXT holds 64 KiB, more than the 8 KiB allowed at
      // enqueue; nullable with no default, appended last: an instant ADD COLUMN. IF NOT
      // EXISTS: DDL commits implicitly, so a half-applied migration may run again.
      `ALTER TABLE ${t.jobs} ADD COLUMN IF NOT EXISTS headers TEXT NULL`,
    ],
  },
  {
    version: 8,
    name: 'queue limits: global concurrency, rate limits, blocks',
    // See the PostgreSQL migration 8. Valid on MySQL 8 as it is (no MariaDB-only syntax).
    up: (t) => [
      `CREATE TABLE IF NOT EXISTS ${t.limits} (
        queue VARCHAR(128) NOT NULL PRIMARY KEY,
        global_concurrency INT NULL,
        rate_limit INT NULL,
        rate_interval_ms BIGINT NULL,
        blocked_until BIGINT NULL,
        starts LONGTEXT NOT NULL,
        group_concurrency INT NULL,
        group_rate_limit INT NULL,
        group_rate_interval_ms BIGINT NULL,
        group_blocked_until BIGINT NULL,
        group_cursor VARCHAR(128) NULL
      ) ${TABLE_OPTIONS}`,
      ...addColumnIfMissing(t, 'job_group', 'VARCHAR(128) NULL'),
      // No partial indexes: a generated column that is NULL unless the job is pending and has a
      // group leads the index, so a job without a group keeps one entry that no change of its
      // state rewrites (an index led by pending_queue would be rewritten by every claim).
      // VIRTUAL: added without copying the table.
      ...addColumnIfMissing(t, 'pending_group_queue', `VARCHAR(128) AS (CASE WHEN state IN ${PENDING_STATES} AND job_group IS NOT NULL THEN queue END) VIRTUAL`),
      ...addIndexIfMissing(t, 'group_idx', '(pending_group_queue, job_group, priority, run_at, id)'),
      `CREATE TABLE IF NOT EXISTS ${t.groupLimits} (
        queue VARCHAR(128) NOT NULL,
        grp VARCHAR(128) NOT NULL,
        blocked_until BIGINT NULL,
        starts LONGTEXT NOT NULL,
        last_start BIGINT NULL,
        PRIMARY KEY (queue, grp)
      ) ${TABLE_OPTIONS}`,
    ],
  },
  {
    version: 9,
    name: 'flows and batches: waiting parents, parent_id, pending_children, on_child_failure, child_status, batch_id, batches',
    up: (t) => [
      // See the PostgreSQL migration 9. One ALTER replaces the CHECK (DDL commits implicitly:
      // dropping and adding in one statement leaves no window without it), then the columns
      // and keys, each resumable.
      `ALTER TABLE ${t.jobs} DROP CONSTRAINT ${t.index('state_check')}, ADD CONSTRAINT ${t.index('state_check')} CHECK (state IN ${ALL_STATES_9})`,
      `ALTER TABLE ${t.jobs} ADD COLUMN IF NOT EXISTS parent_id BIGINT NULL, ADD COLUMN IF NOT EXISTS pending_children INT NULL,
         ADD COLUMN IF NOT EXISTS on_child_failure VARCHAR(8) NULL, ADD COLUMN IF NOT EXISTS child_status TINYINT NULL,
         ADD COLUMN IF NOT EXISTS batch_id BIGINT NULL`,
      `CREATE INDEX IF NOT EXISTS ${t.index('parent_idx')} ON ${t.jobs} (parent_id, id)`,
      `CREATE INDEX IF NOT EXISTS ${t.index('child_status_idx')} ON ${t.jobs} (child_status, state)`,
      `CREATE INDEX IF NOT EXISTS ${t.index('batch_idx')} ON ${t.jobs} (batch_id, state)`,
      `CREATE TABLE IF NOT EXISTS ${t.batches} (
        id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        total INT NOT NULL,
        completed INT NOT NULL DEFAULT 0,
        dead INT NOT NULL DEFAULT 0,
        cancelled INT NOT NULL DEFAULT 0,
        payload LONGTEXT NOT NULL,
        callbacks LONGTEXT NOT NULL,
        complete_fired TINYINT NOT NULL DEFAULT 0,
        success_fired TINYINT NOT NULL DEFAULT 0,
        failure_fired TINYINT NOT NULL DEFAULT 0,
        created_at DATETIME(3) NOT NULL
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ],
  },
  {
    version: 10,
    name: 'queue slots: holds of a global concurrency per worker',
    // See the PostgreSQL migration 10. Valid on MySQL 8 as it is.
    up: (t) => [
      `CREATE TABLE IF NOT EXISTS ${t.slots} (
        queue VARCHAR(128) NOT NULL,
        worker_id VARCHAR(255) NOT NULL,
        held INT NOT NULL,
        wants INT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (queue, worker_id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ],
  },
];

/**
 * `ddl` on the job table, run only when information_schema lists no `what` named `name` in
 * `view` yet (resumable as well), through a prepared statement on the migration's one
 * connection: the `IF NOT EXISTS` that MySQL lacks for columns and indexes. Valid on MariaDB and
 * MySQL alike.
 */
function unlessListed(t: TableNames, ddl: string, view: 'COLUMNS' | 'STATISTICS', what: 'COLUMN_NAME' | 'INDEX_NAME', name: string): string[] {
  return [
    `SET @jobs_migration_ddl = (SELECT IF(COUNT(*) = 0, '${ddl.replace(/'/g, "''")}', 'DO 0') FROM information_schema.${view}
       WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '${t.prefix}job' AND ${what} = '${name}')`,
    'PREPARE jobs_migration_ddl FROM @jobs_migration_ddl',
    'EXECUTE jobs_migration_ddl',
    'DEALLOCATE PREPARE jobs_migration_ddl',
  ];
}

/** `ADD COLUMN IF NOT EXISTS`, which MySQL lacks. */
function addColumnIfMissing(t: TableNames, column: string, definition: string): string[] {
  return unlessListed(t, `ALTER TABLE ${t.jobs} ADD COLUMN ${column} ${definition}`, 'COLUMNS', 'COLUMN_NAME', column);
}

/** `CREATE INDEX IF NOT EXISTS` on the job table, which MySQL lacks. */
function addIndexIfMissing(t: TableNames, suffix: string, columns: string): string[] {
  return unlessListed(t, `CREATE INDEX ${t.index(suffix)} ON ${t.jobs} ${columns}`, 'STATISTICS', 'INDEX_NAME', `${t.prefix}job_${suffix}`);
}

/**
 * The migrations of the `no-returning` path (MySQL 8, see `dialects/mysql-path.ts`): the same
 * versions with the same effect, with the MariaDB-only `ADD COLUMN IF NOT EXISTS` (and index IF NOT EXISTS) of 4, 5, 6, 7 and 9
 * replaced by `addColumnIfMissing`. (1 and 2 are valid MySQL 8 as they are: generated
 * columns, CHECK (enforced from 8.0.16), LONGTEXT rather than JSON, no index IF NOT EXISTS.)
 * Either list may migrate a database the other one started.
 */
export const mysql8Migrations: Migration[] = mysqlMigrations.map((m): Migration => {
  switch (m.version) {
    case 4:
      return {
        ...m,
        up: (t) => [
          ...addColumnIfMissing(t, 'prefetched', 'TINYINT(1) NOT NULL DEFAULT 0'),
          ...addColumnIfMissing(t, 'rescued_unstarted', 'TINYINT(1) NOT NULL DEFAULT 0'),
        ],
      };
    case 5:
      return { ...m, up: (t) => addColumnIfMissing(t, 'unique_until', 'DATETIME(3) NULL') };
    case 6:
      return { ...m, up: (t) => addColumnIfMissing(t, 'interruptions', 'INT NOT NULL DEFAULT 0') };
    case 7:
      return { ...m, up: (t) => addColumnIfMissing(t, 'headers', 'TEXT NULL') };
    case 9:
      return {
        ...m,
        up: (t) => [
          m.up(t)[0]!,
          ...addColumnIfMissing(t, 'parent_id', 'BIGINT NULL'),
          ...addColumnIfMissing(t, 'pending_children', 'INT NULL'),
          ...addColumnIfMissing(t, 'on_child_failure', 'VARCHAR(8) NULL'),
          ...addColumnIfMissing(t, 'child_status', 'TINYINT NULL'),
          ...addIndexIfMissing(t, 'parent_idx', '(parent_id, id)'),
          ...addColumnIfMissing(t, 'batch_id', 'BIGINT NULL'),
          ...addIndexIfMissing(t, 'child_status_idx', '(child_status, state)'),
          ...addIndexIfMissing(t, 'batch_idx', '(batch_id, state)'),
          m.up(t)[m.up(t).length - 1]!,
        ],
      };
    default:
      return m;
  }
});
