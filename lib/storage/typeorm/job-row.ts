import type { BackoffSpec, JobErrorInfo, JobRecord, JobState } from '../../core/job-record.js';
import { parseHeaders } from '../../core/headers.js';
import type { Row } from './flow.js';

/**
 * Decodes rows as the three drivers return them into `JobRecord`s. Dialects select times as
 * whatever is unambiguous for them (PostgreSQL: `Date`; SQLite: epoch ms; MariaDB: UTC text),
 * JSON columns as text, bigints as strings or numbers.
 */

export function asString(v: unknown): string {
  return typeof v === 'string' ? v : String(v);
}

export function asNumber(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

export function asBool(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || v === 't';
}

function asNullableNumber(v: unknown): number | null {
  return v === null || v === undefined ? null : asNumber(v);
}

function asNullableString(v: unknown): string | null {
  return v === null || v === undefined ? null : asString(v);
}

/** `Date`, epoch ms (number or digits), or `YYYY-MM-DD HH:MM:SS[.fff]` in UTC. */
export function asDate(v: unknown): Date {
  if (v instanceof Date) return v;
  if (typeof v === 'number' || typeof v === 'bigint') return new Date(Number(v));
  const s = String(v);
  if (/^-?\d+$/.test(s)) return new Date(Number(s));
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s.replace(' ', 'T')}Z`);
}

function asNullableDate(v: unknown): Date | null {
  return v === null || v === undefined ? null : asDate(v);
}

function parseJson(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  return JSON.parse(typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : String(v)) as unknown;
}

export function toJobRecord(r: Row): JobRecord {
  return {
    id: asString(r.id),
    queue: asString(r.queue),
    name: asString(r.name),
    payload: parseJson(r.payload),
    headers: parseHeaders(r.headers),
    state: asString(r.state) as JobState,
    priority: asNumber(r.priority),
    attempt: asNumber(r.attempt),
    maxAttempts: asNullableNumber(r.max_attempts),
    runAt: asDate(r.run_at),
    createdAt: asDate(r.created_at),
    startedAt: asNullableDate(r.started_at),
    completedAt: asNullableDate(r.completed_at),
    failedAt: asNullableDate(r.failed_at),
    lockedBy: asNullableString(r.locked_by),
    lockedUntil: asNullableDate(r.locked_until),
    lastError: parseJson(r.last_error) as JobErrorInfo | null,
    uniqueKey: asNullableString(r.unique_key),
    group: asNullableString(r.job_group),
    backoff: parseJson(r.backoff) as BackoffSpec | null,
    timeoutMs: asNullableNumber(r.timeout_ms),
    progress: asNullableNumber(r.progress),
    progressData: parseJson(r.progress_data),
    result: parseJson(r.result),
    cancelRequested: asBool(r.cancel_requested),
    interruptions: r.interruptions == null ? 0 : asNumber(r.interruptions),
    prefetched: asBool(r.prefetched),
    rescuedUnstarted: asBool(r.rescued_unstarted),
    parentId: r.parent_id == null ? null : String(r.parent_id),
    batchId: r.batch_id == null ? null : String(r.batch_id),
  };
}

/** Claim order: priority, then runAt, then id (RETURNING gives no order). */
export function byClaimOrder(a: JobRecord, b: JobRecord): number {
  return a.priority - b.priority || a.runAt.getTime() - b.runAt.getTime() || compareIds(a.id, b.id);
}

/** Numeric order of decimal id strings. */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** Ids are positive bigints as decimal strings; anything else cannot name a stored job. */
export function isJobId(id: unknown): id is string {
  return typeof id === 'string' && /^[1-9]\d{0,17}$/.test(id);
}
