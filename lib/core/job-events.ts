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
  /** `enqueued`: the job was a duplicate of a waiting one. */
  duplicate?: boolean;
}
