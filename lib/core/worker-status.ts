/**
 * This instance's workers, as `QueueService.workerStatus()` reports them (for health checks
 * and metrics; it reads memory only, never the storage).
 */
export interface WorkerStatus {
  /**
   * - `disabled`: this instance runs no workers (`workers: false`: it only enqueues);
   * - `not-started`: the app has not bootstrapped yet;
   * - `running`: claiming and running jobs;
   * - `stopping`: shutting down (no new claims; running jobs drain);
   * - `stopped`: shut down.
   */
  state: 'disabled' | 'not-started' | 'running' | 'stopping' | 'stopped';
  /** The id its leases are held under (random per process); null when `disabled`. */
  workerId: string | null;
  /**
   * Milliseconds since the workers last renewed their leases (or found none to renew); the
   * beat runs every `heartbeatIntervalMs`. Past `leaseMs` the leases have lapsed (the storage
   * refuses the writes, or the event loop is blocked) and other instances may rescue the jobs.
   * Null unless `running`.
   */
  heartbeatAgeMs: number | null;
  /** The lease length the workers hold jobs for. */
  leaseMs: number;
  /**
   * Per queue this instance works: handlers running now, and claimed jobs waiting in its
   * buffer; on a queue with a `globalConcurrency`, `slots`: how many of them it may run now (its
   * share of the limit, see `QueueLimits.globalConcurrency`).
   */
  queues: Record<string, { active: number; buffered: number; slots?: number }>;
}
