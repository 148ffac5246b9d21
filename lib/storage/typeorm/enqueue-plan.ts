import { assertGroup } from '../../core/limits.js';
import type { EnqueueResult, NewJob } from '../../core/job-record.js';
import { assertMs, DELAY_LIMIT } from '../../core/option-rules.js';
import { assertName } from '../../core/validation.js';
import { InvalidOptionsError } from '../../errors/invalid-options.error.js';
import type { Dialect, InsertedRow, InsertRow } from './dialect.js';
import type { Step } from './flow.js';
import { compareIds } from './job-row.js';

/** Statement size bound: payloads are up to 1 MB each; keep each INSERT a few MB. */
const MAX_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Validates a job and shapes it for INSERT. Lengths are checked here, before the database,
 * so an over-long value is a clear error (and MariaDB's INSERT IGNORE, which skips taken
 * unique keys, can never silently truncate one).
 */
export function toInsertRow(job: NewJob): InsertRow {
  assertName('queue name', job.queue);
  assertName('job name', job.name);
  if (typeof job.payload !== 'string') throw new InvalidOptionsError('payload', 'expected JSON text');
  const headers = job.headers ?? null;
  if (headers !== null && typeof headers !== 'string') throw new InvalidOptionsError('headers', 'expected JSON text or null');
  const uniqueKey = job.uniqueKey ?? null;
  if (uniqueKey !== null && (typeof uniqueKey !== 'string' || uniqueKey.length < 1 || uniqueKey.length > 255)) {
    throw new InvalidOptionsError('uniqueKey', 'expected a string of 1 to 255 characters');
  }
  const ttl = uniqueKey === null ? null : (job.uniqueTtlMs ?? null);
  if (ttl !== null) assertMs('uniqueTtlMs', ttl, DELAY_LIMIT, 1);
  const runAt = job.runAt ?? null;
  if (runAt !== null && !(runAt instanceof Date && Number.isFinite(runAt.getTime()))) {
    throw new InvalidOptionsError('runAt', 'expected a valid Date');
  }
  return {
    queue: job.queue,
    name: job.name,
    payload: job.payload,
    headers,
    priority: job.priority,
    maxAttempts: job.maxAttempts,
    runAt,
    delayMs: Math.max(0, Math.round(job.delayMs ?? 0)),
    uniqueKey,
    uniqueWhile: uniqueKey === null ? null : (job.uniqueWhile ?? 'running'),
    uniqueTtlMs: ttl,
    backoff: job.backoff ? JSON.stringify(job.backoff) : null,
    timeoutMs: job.timeoutMs ?? null,
    group: job.group === undefined || job.group === null ? null : assertGroup('group', job.group),
  };
}

/**
 * Tracks one `enqueue` call: which rows still need inserting, and each job's result.
 * Within the batch the first job with a key wins; later ones are its duplicates.
 */
export class EnqueuePlan {
  readonly results: Array<EnqueueResult | undefined>;
  private readonly sameAs = new Map<number, number>();
  /** Indexes of rows still to insert. */
  todo: number[] = [];

  constructor(readonly rows: InsertRow[]) {
    this.results = new Array<EnqueueResult | undefined>(rows.length);
    const firstWithKey = new Map<string, number>();
    rows.forEach((row, i) => {
      const key = row.uniqueKey;
      if (key !== null && firstWithKey.has(key)) this.sameAs.set(i, firstWithKey.get(key)!);
      else {
        if (key !== null) firstWithKey.set(key, i);
        this.todo.push(i);
      }
    });
  }

  /** `todo` split into statements: at most `maxRows` rows and about 4 MB each. */
  chunks(maxRows: number): number[][] {
    const out: number[][] = [];
    let chunk: number[] = [];
    let bytes = 0;
    for (const i of this.todo) {
      const size = this.rows[i]!.payload.length + (this.rows[i]!.headers?.length ?? 0) + 256;
      if (chunk.length && (chunk.length >= maxRows || bytes + size > MAX_CHUNK_BYTES)) {
        out.push(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(i);
      bytes += size;
    }
    if (chunk.length) out.push(chunk);
    return out;
  }

  /**
   * Matches what an INSERT stored to the rows of `chunk`: keyed rows by key, the others in
   * id order (ids come from one sequence in row order). Returns the keyed rows it skipped.
   */
  stored(chunk: number[], inserted: InsertedRow[]): number[] {
    const byKey = new Map<string, string>();
    const plain: string[] = [];
    for (const r of inserted) {
      if (r.uniqueKey === null) plain.push(r.id);
      else byKey.set(r.uniqueKey, r.id);
    }
    plain.sort(compareIds);
    const skipped: number[] = [];
    let next = 0;
    for (const i of chunk) {
      const key = this.rows[i]!.uniqueKey;
      const id = key === null ? plain[next++] : byKey.get(key);
      if (id === undefined) {
        if (key === null) throw new Error('the database stored fewer jobs than it was given');
        skipped.push(i);
      } else this.results[i] = { id, duplicate: false };
    }
    return skipped;
  }

  /** Rows whose key another job holds: duplicates of it. Returns those whose holder vanished meanwhile. */
  duplicates(skipped: number[], holders: Map<string, string>): number[] {
    const again: number[] = [];
    for (const i of skipped) {
      const id = holders.get(this.rows[i]!.uniqueKey!);
      if (id === undefined) again.push(i);
      else this.results[i] = { id, duplicate: true };
    }
    return again;
  }

  /** All results, in input order. */
  finish(): EnqueueResult[] {
    for (const [i, first] of this.sameAs) this.results[i] = { id: this.results[first]!.id, duplicate: true };
    return this.results.map((r) => {
      if (!r) throw new Error('a job was neither stored nor matched to a holder of its unique key');
      return r;
    });
  }
}

/**
 * Inserts the plan's rows in chunks through `run`; rows skipped for a taken key become
 * duplicates of its holder. A key with no holder by the time we look gets another try: its
 * holder finished in between, or its holder's unique window has ended. The latter still has
 * the key in the unique index, so the next round first makes holders whose window has ended
 * give their keys up (one UPDATE, only on this path: an enqueue whose key is free, or held,
 * costs what it did), then inserts again: the unique index still admits one holder, whoever
 * races.
 */
export async function insertPlanned(plan: EnqueuePlan, dialect: Dialect, run: <T>(step: Step<T>) => Promise<T>): Promise<void> {
  for (let round = 0; plan.todo.length && round < 5; round++) {
    if (round > 0) await run(dialect.releaseExpired(plan.todo.map((i) => plan.rows[i]!.uniqueKey!)));
    const skipped: number[] = [];
    for (const chunk of plan.chunks(dialect.maxRowsPerStatement)) {
      skipped.push(...plan.stored(chunk, await run(dialect.insert(chunk.map((i) => plan.rows[i]!)))));
    }
    const keys = skipped.map((i) => plan.rows[i]!.uniqueKey!);
    plan.todo = skipped.length ? plan.duplicates(skipped, await run(dialect.holders(keys))) : [];
  }
}
