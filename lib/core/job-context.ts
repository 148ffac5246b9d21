import type { ChildOutcome } from './job-record.js';

/** What a handler receives beside its payload. */
export interface JobContext {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  /** The job's headers, as stored at enqueue (by the call and the enqueue middleware); `{}` when none. */
  readonly headers: Readonly<Record<string, string>>;
  /** The job's group within its queue (`EnqueueOptions.group`), or null. */
  readonly group: string | null;
  /** 1 on the first run, 2 on the first retry … A job may run again after a crash: check this. */
  readonly attempt: number;
  /** `maxRetries + 1`, or null when retries are unlimited. */
  readonly maxAttempts: number | null;
  /** Aborts on timeout, cancellation, lost lease or shutdown; `signal.reason` says which. */
  readonly signal: AbortSignal;
  /**
   * Reports progress (0..100, optional JSON data); stored (throttled) and emitted as an event.
   */
  progress(percent: number, data?: unknown): Promise<void>;
  /**
   * A flow parent's children (see `QueueService.flow`), by id: each one's id, name, state, and
   * stored result (completed) or last error. Empty for a job that is not a flow parent.
   */
  children(): Promise<ChildOutcome[]>;
  /**
   * With a TypeORM storage: an `EntityManager` whose transaction also marks this job
   * completed, so the handler's writes and the completion commit together. Undefined on
   * other storages.
   */
  readonly manager?: unknown;
}
