import { EntitySchema, type ValueTransformer } from 'typeorm';
import type { DialectKind } from './table-names.js';

/** A stored job as TypeORM sees it (raw columns; the storage itself maps rows to `JobRecord`). */
export interface JobEntity {
  id: string;
  queue: string;
  name: string;
  payload: string;
  /** JSON text of the job's headers (migration 7); null when none. */
  headers: string | null;
  state: string;
  priority: number;
  attempt: number;
  maxAttempts: number | null;
  runAt: Date;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  failedAt: Date | null;
  lockedBy: string | null;
  lockedUntil: Date | null;
  lastError: string | null;
  uniqueKey: string | null;
  uniqueWhile: string | null;
  uniqueActive: string | null;
  /** When the job's unique window ends (migration 5); null without one. */
  uniqueUntil: Date | null;
  backoff: string | null;
  timeoutMs: string | null;
  progress: number | null;
  progressData: string | null;
  result: string | null;
  cancelRequested: boolean;
  interruptions: number;
  prefetched: boolean;
  rescuedUnstarted: boolean;
}

/** SQLite keeps times as epoch milliseconds. */
const epochMs: ValueTransformer = {
  from: (v: number | null) => (v === null || v === undefined ? null : new Date(Number(v))),
  to: (v: Date | null | undefined) => (v instanceof Date ? v.getTime() : v),
};

/**
 * The jobs table as a TypeORM entity: registered on DataSources the storage creates, so
 * `dataSource.getRepository('<prefix>job')` reads jobs with TypeORM. The migrations own the
 * schema (indexes, generated columns): never let `synchronize` manage this table.
 * On MariaDB, read it through a DataSource with `timezone: 'Z'` (times are stored in UTC).
 */
export function jobEntitySchema(kind: DialectKind, prefix: string, schema: string | null): EntitySchema<JobEntity> {
  const time = kind === 'postgres' ? 'timestamptz' : kind === 'mysql' ? 'datetime' : 'integer';
  const json = kind === 'postgres' ? 'json' : kind === 'mysql' ? 'longtext' : 'text';
  const transformer = kind === 'sqlite' ? epochMs : undefined;
  const t = (nullable: boolean) => ({ type: time, nullable, transformer, ...(kind === 'sqlite' ? {} : { precision: 3 }) }) as const;
  const j = (nullable: boolean) => ({ type: json, nullable }) as const;
  return new EntitySchema<JobEntity>({
    name: `${prefix}job`,
    tableName: `${prefix}job`,
    schema: kind === 'postgres' && schema ? schema : undefined,
    synchronize: false,
    columns: {
      id: { type: kind === 'sqlite' ? 'integer' : 'bigint', primary: true, generated: 'increment' },
      queue: { type: 'varchar', length: 128 },
      name: { type: 'varchar', length: 128 },
      payload: j(false),
      headers: j(true),
      state: { type: 'varchar', length: 16 },
      priority: { type: 'integer' },
      attempt: { type: 'integer' },
      maxAttempts: { name: 'max_attempts', type: 'integer', nullable: true },
      runAt: { name: 'run_at', ...t(false) },
      createdAt: { name: 'created_at', ...t(false) },
      startedAt: { name: 'started_at', ...t(true) },
      completedAt: { name: 'completed_at', ...t(true) },
      failedAt: { name: 'failed_at', ...t(true) },
      lockedBy: { name: 'locked_by', type: 'varchar', length: 255, nullable: true },
      lockedUntil: { name: 'locked_until', ...t(true) },
      lastError: { name: 'last_error', ...j(true) },
      uniqueKey: { name: 'unique_key', type: 'varchar', length: 255, nullable: true },
      uniqueWhile: { name: 'unique_while', type: 'varchar', length: 16, nullable: true },
      uniqueActive: { name: 'unique_active', type: 'varchar', length: 255, nullable: true },
      uniqueUntil: { name: 'unique_until', ...t(true) },
      backoff: j(true),
      timeoutMs: { name: 'timeout_ms', type: kind === 'sqlite' ? 'integer' : 'bigint', nullable: true },
      progress: { type: kind === 'sqlite' ? 'real' : kind === 'mysql' ? 'double' : 'double precision', nullable: true },
      progressData: { name: 'progress_data', ...j(true) },
      result: j(true),
      cancelRequested: { name: 'cancel_requested', type: 'boolean' },
      interruptions: { type: 'integer', default: 0 },
      prefetched: { type: 'boolean' },
      rescuedUnstarted: { name: 'rescued_unstarted', type: 'boolean' },
    },
  });
}
