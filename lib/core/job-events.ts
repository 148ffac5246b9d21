import type { JobErrorInfo } from './job-record.js';

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
