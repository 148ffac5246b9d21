import type { JobErrorInfo } from '../errors/job-error-info.js';

/**
 * The job model shared by every layer. Framework-free: no Nest, no ORM.
 */

/**
 * `scheduled` and `retryable` are waiting for their `runAt`; once it is due they are
 * claimed exactly like `available` jobs (no promotion step is needed). `waiting`: a flow's
 * parent whose children have not all finished; it is never claimed, and becomes `available`
 * (or ends as its `onChildFailure` says) when the last of them finishes.
 */
export type JobState =
  | 'waiting'
  | 'scheduled'
  | 'available'
  | 'retryable'
  | 'running'
  | 'completed'
  | 'dead'
  | 'cancelled';

export const JOB_STATES: readonly JobState[] = [
  'waiting',
  'scheduled',
  'available',
  'retryable',
  'running',
  'completed',
  'dead',
  'cancelled',
];

/** States a job waits in until its `runAt` is due and a worker claims it. */
export const PENDING_STATES: readonly JobState[] = ['scheduled', 'available', 'retryable'];

export type { JobErrorInfo };

/** A backoff strategy as it is stored on a job row (JSON). */
export type BackoffSpec =
  | { type: 'fixed'; ms: number }
  | { type: 'linear'; ms: number }
  | { type: 'exponential'; base: number; initialMs: number; maxMs: number; jitter: boolean };

/** One stored job, as storages return it. */
export interface JobRecord {
  id: string;
  queue: string;
  name: string;
  payload: unknown;
  /** Set at enqueue (by the call or a job middleware); `{}` when none. */
  headers: Record<string, string>;
  state: JobState;
  priority: number;
  /**
   * Runs started so far. Incremented when a worker claims the job, so a crash counts; given
   * back when the job returns unstarted (handed back, or rescued while `prefetched`).
   */
  attempt: number;
  /** `maxRetries + 1`; `null` retries forever. */
  maxAttempts: number | null;
  runAt: Date;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  failedAt: Date | null;
  lockedBy: string | null;
  lockedUntil: Date | null;
  lastError: JobErrorInfo | null;
  uniqueKey: string | null;
  /** The job's group within its queue (see `QueueLimits.groups`), or null. */
  group: string | null;
  /** Per-job overrides given at enqueue; `null` means "the handler's policy". */
  backoff: BackoffSpec | null;
  timeoutMs: number | null;
  progress: number | null;
  progressData: unknown;
  result: unknown;
  /** Set when `cancel` was asked for while the job was running. */
  cancelRequested: boolean;
  /**
   * Runs cut short by a shutdown and handed back without counting the attempt; past the
   * module's `maxInterruptions`, an interruption counts as a failed attempt. `retry()` resets it.
   */
  interruptions: number;
  /**
   * Running, but claimed into a worker's prefetch buffer and not known to have started: the
   * claim records a start only for the jobs that start at once, the worker's next heartbeat
   * for the others. If its lease expires meanwhile, the rescuer gives its attempt back. False
   * in every other state.
   */
  prefetched: boolean;
  /**
   * The rescuer once gave this job its attempt back (its lease expired while it was
   * `prefetched`). From then on its start is recorded before its handler runs, so a crash
   * counts: a job that crashes its process can be given one uncounted crash, never more.
   */
  rescuedUnstarted: boolean;
  /** The flow parent this job is a child of (see `Storage.enqueueFlow`); null or absent otherwise. */
  parentId?: string | null;
  /** The batch this job belongs to (see `Storage.enqueueBatch`); null or absent otherwise. */
  batchId?: string | null;
}

export type UniqueWhile = 'queued' | 'running' | 'until-complete';

/** The states in which a job holds its unique key, per `UniqueWhile`. */
export const UNIQUE_STATES: Record<UniqueWhile, readonly JobState[]> = {
  queued: ['scheduled', 'available', 'retryable'],
  running: ['scheduled', 'available', 'retryable', 'running'],
  'until-complete': ['scheduled', 'available', 'retryable', 'running', 'dead'],
};

/** A job as handed to `Storage.enqueue`: validated, payload already JSON text. */
export interface NewJob {
  queue: string;
  name: string;
  /** JSON text of the payload. */
  payload: string;
  /** JSON text of the headers (a string-to-string object; see `core/headers.ts`), or null when none. */
  headers?: string | null;
  priority: number;
  maxAttempts: number | null;
  /** Due time. `runAt` (absolute) wins over `delayMs` (relative to the storage's clock); neither: now. */
  runAt?: Date | null;
  delayMs?: number | null;
  uniqueKey?: string | null;
  /**
   * While which states an existing job with the same `uniqueKey` blocks a new one:
   * `queued` (scheduled/available/retryable), `running` (queued or running; the default),
   * `until-complete` (queued, running or dead: only completion or cancellation frees the key).
   */
  uniqueWhile?: UniqueWhile | null;
  /**
   * How long the job holds `uniqueKey` at most, from its enqueue, on the storage's clock
   * (combined with `uniqueWhile`: the key is free once either ends). Null: as long as
   * `uniqueWhile` says.
   */
  uniqueTtlMs?: number | null;
  backoff?: BackoffSpec | null;
  timeoutMs?: number | null;
  /** The job's group within its queue (see `QueueLimits.groups`); null or absent: none. */
  group?: string | null;
}

export interface EnqueueResult {
  id: string;
  /** True when a job with the same `uniqueKey` was already waiting and no new job was stored. */
  duplicate: boolean;
}

/**
 * What a failed child (one that ended `dead` or `cancelled`) does to its flow parent:
 * `fail` (the parent ends dead, naming the child, and its other pending descendants are
 * cancelled), `ignore` (the parent runs anyway) or `continue` (the parent runs anyway; it sees
 * the failure in `ctx.children()`).
 */
export type OnChildFailure = 'fail' | 'ignore' | 'continue';

export const ON_CHILD_FAILURE: readonly OnChildFailure[] = ['fail', 'ignore', 'continue'];

/** One node of a flow as handed to `Storage.enqueueFlow`: validated, no unique key. */
export interface NewFlowNode {
  job: NewJob;
  onChildFailure: OnChildFailure;
  children: NewFlowNode[];
}

/** The ids of a stored flow, in the shape of the tree that was given. */
export interface FlowIds {
  id: string;
  children: FlowIds[];
}

/** A stored flow with its jobs (`QueueService.getFlow`). */
export interface FlowTree {
  job: JobRecord;
  children: FlowTree[];
}

/** A finished (or not yet finished) child, as a flow parent's handler sees it in `ctx.children()`. */
export interface ChildOutcome {
  id: string;
  name: string;
  state: JobState;
  /** The child's stored result (completed), else null. */
  result: unknown;
  /** The child's last error (dead, or failed before), else null. */
  error: JobErrorInfo | null;
}

/** A batch's callbacks as handed to `Storage.enqueueBatch`: each stored as given when it fires, with its payload replaced. */
export interface NewBatch {
  /** JSON text of the batch's own payload. */
  payload: string;
  callbacks: { complete?: NewJob; success?: NewJob; failure?: NewJob };
}

export interface BatchResult {
  batchId: string;
  ids: string[];
}

/** Finished jobs of a batch, as counted when each one finished (kept after the jobs are pruned). */
export interface BatchCounts {
  total: number;
  completed: number;
  dead: number;
  cancelled: number;
}

/** The payload a batch callback receives. */
export interface BatchCallbackPayload<TPayload = unknown> {
  batchId: string;
  payload: TPayload;
  counts: BatchCounts;
}

/** `QueueService.getBatch`. */
export interface BatchInfo {
  id: string;
  payload: unknown;
  counts: BatchCounts;
  /** The batch's jobs still stored, by state. */
  states: Partial<Record<JobState, number>>;
  /** Which callbacks have been enqueued. */
  fired: { complete: boolean; success: boolean; failure: boolean };
}

/** Whether each callback is due, from the counts. */
export function dueCallbacks(c: BatchCounts): { complete: boolean; success: boolean; failure: boolean } {
  return { complete: c.completed + c.dead + c.cancelled >= c.total, success: c.completed >= c.total, failure: c.dead > 0 };
}

/** The job is a flow's child or a batch's job: its outcome updates the parent or the batch. */
export function isLinked(record: JobRecord): boolean {
  return record.parentId != null || record.batchId != null;
}

/** The callback job of a batch, as it fires: the template with the callback payload. */
export function callbackJob(template: NewJob, batchId: string, payload: string, counts: BatchCounts): NewJob {
  return { ...template, payload: `{"batchId":${JSON.stringify(batchId)},"payload":${payload},"counts":${JSON.stringify(counts)}}`, uniqueKey: null, runAt: null, delayMs: null };
}
