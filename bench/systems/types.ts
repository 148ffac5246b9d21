/** What every benchmarked system offers the workloads: a producer, a worker, a reset. */
export interface Payload {
  i: number;
}

export type Handler = (payload: Payload) => void;

export interface Producer {
  /** One awaited enqueue of one job. */
  enqueue(payload: Payload): Promise<void>;
  /** One bulk call (the system's own bulk API). */
  enqueueBulk(payloads: Payload[]): Promise<void>;
  close(): Promise<void>;
}

export interface WorkerHandle {
  /** Starts claiming; the clock of a processing run starts right before this call. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Optional counters of the storage round trips (ours), merged into the result. */
  trace?(): Record<string, number>;
}

export interface WorkerOptions {
  concurrency: number;
  handler: Handler;
  /** The worker's poll, where the system has one and the workload needs its default (ours). */
  pollIntervalMs?: number;
}

export interface SystemAdapter {
  readonly id: string;
  /** Jobs live in this process only (memory storage): seed and work in one child. */
  readonly inProcess?: boolean;
  /** Drops and recreates the system's namespace (schema, database, file, Redis db), installs its schema. */
  reset(): Promise<void>;
  producer(): Promise<Producer>;
  /** Connects and registers the handler; does not claim until `start()`. */
  worker(options: WorkerOptions): Promise<WorkerHandle>;
  /**
   * Inserts `count` waiting jobs fast (SQL `INSERT … SELECT generate_series`); absent when the
   * system has no SQL table (then the workload uses the bulk API).
   */
  seedBacklog?(count: number): Promise<void>;
  /** The settings used, for BENCHMARKS.md. */
  describe(concurrency: number): Record<string, unknown>;
}

export type AdapterFactory = () => SystemAdapter;
