import type { UniqueWhile } from './job-record.js';
import { knownKeys } from './known-keys.js';
import type { BackoffInput, MaxRetriesInput } from './retry-policy.js';

export interface EnqueueOptions {
  /** Queue to put the job on; default: the handler's queue, else `'default'`. */
  queue?: string;
  /** Run no sooner than this many ms from now (the storage's clock). */
  delay?: number;
  /** Run no sooner than this instant. */
  runAt?: Date;
  /** Lower runs first; default 0 (or the handler's `priority`). */
  priority?: number;
  maxRetries?: MaxRetriesInput;
  backoff?: BackoffInput;
  /** ms; aborts `ctx.signal` and fails the attempt. */
  timeout?: number;
  /** While a job with this key is waiting or running, enqueueing another returns its id (`duplicate: true`). */
  uniqueKey?: string;
  /**
   * How long `uniqueKey` holds: `while` — `'queued'` (until it starts), `'running'` (until it
   * ends; the default), `'until-complete'` (also while dead: until it completes or is
   * cancelled); `ttlMs` — and at most this long from the holder's enqueue, on the storage's
   * clock (a window from the first enqueue: duplicates do not extend it; once it has passed,
   * the next enqueue stores a new job, which holds the key for its own window).
   */
  unique?: { while?: UniqueWhile; ttlMs?: number };
  /**
   * A small string-to-string map stored with the job and given to its handler as
   * `ctx.headers` (a tenant id, a request id, a trace context). At most 64 entries, names of
   * 1 to 128 characters, 8 KiB of JSON in all. Job middleware may add to them.
   */
  headers?: Record<string, string>;
  /**
   * The job's group within its queue (a tenant, a customer): the queue's `groups` limits
   * apply to each group separately, and claims go round-robin across groups with work.
   * 1 to 128 characters. Default: the `@Job`'s `group`, if any.
   */
  group?: string;
  /** A TypeORM `EntityManager`: the job is inserted inside the caller's transaction. */
  manager?: unknown;
}

export interface BulkJob<TPayload = unknown> {
  name: string | import('./job-token.js').JobToken<TPayload>;
  payload: TPayload;
  options?: Omit<EnqueueOptions, 'manager'>;
}

export const ENQUEUE_OPTION_KEYS = knownKeys<EnqueueOptions>({
  queue: true, delay: true, runAt: true, priority: true, maxRetries: true, backoff: true, timeout: true, uniqueKey: true,
  unique: true, headers: true, manager: true, group: true,
});

export const UNIQUE_OPTION_KEYS = knownKeys<NonNullable<EnqueueOptions['unique']>>({ while: true, ttlMs: true });

export const BULK_JOB_KEYS = knownKeys<BulkJob>({ name: true, payload: true, options: true });

/** The options of the whole `enqueueMany` call. */
export const ENQUEUE_MANY_KEYS = knownKeys<{ manager?: unknown }>({ manager: true });

export const managerPerBatch = () =>
  "goes in enqueueMany's second argument ({ manager }), for the whole batch: one transaction stores every job or none";
