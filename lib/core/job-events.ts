import type { JobErrorInfo, JobRecord } from './job-record.js';

export type JobEventType =
  | 'enqueued'
  | 'started'
  | 'progress'
  | 'completed'
  | 'failed'
  | 'retrying'
  | 'dead'
  | 'cancelled'
  | 'released'
  | 'lease-lost';

/** A lifecycle event of one job on this instance. */
export interface JobEvent {
  type: JobEventType;
  jobId: string;
  name: string;
  queue: string;
  attempt: number;
  /** Epoch ms on this instance's clock. */
  at: number;
  error?: JobErrorInfo;
  /** `retrying`: delay before the next run. */
  retryDelayMs?: number;
  /** `progress`: 0..100. */
  progress?: number;
  progressData?: unknown;
  /** `completed`: the handler's return value. */
  result?: unknown;
  /** `enqueued`: the job was a duplicate of a waiting one (no job was stored). */
  duplicate?: boolean;
  /**
   * `completed`, `failed`, `retrying`, `dead`, `cancelled`, `lease-lost` after the handler ran:
   * how long it ran (until it settled, or was abandoned past its abort grace), in ms on this
   * instance's clock. Absent when no handler ran (no handler for the name on this instance,
   * a waiting job cancelled).
   */
  durationMs?: number;
  /** `started`: when the job fell due (its `runAt`, epoch ms on the storage's clock). */
  dueAt?: number;
  /** `started`: `at - dueAt`, how long the job waited past its due time (prefetch buffer included), never negative. */
  waitMs?: number;
}

/** The event of `record` at `at` (this instance's clock); `started` also says when the job was due and how long it waited. */
export function jobEvent(type: JobEventType, record: JobRecord, at: number, extra: Partial<JobEvent> = {}): JobEvent {
  // Object.assign, not a spread: half the cost per event (a spread of `extra` takes V8's slow path).
  const event: JobEvent = Object.assign({ type, jobId: record.id, name: record.name, queue: record.queue, attempt: record.attempt, at }, extra);
  if (type === 'started') {
    // The due time is on the storage's clock, `at` on this instance's: a skew between them
    // shifts the wait by as much (a wait never comes out negative).
    event.dueAt = record.runAt.getTime();
    event.waitMs = Math.max(0, at - event.dueAt);
  }
  return event;
}
