import { coerceError } from './coerce-error.js';
import type { ChildOutcome, JobRecord } from './job-record.js';
import { childOutcome } from './flow-builder.js';
import type { ProgressSink } from './job-run.js';
import type { WorkerDeps } from './job-executor.js';

/** Writes of one job's progress: at most one a second, and always the final 100. */
const WRITE_EVERY_MS = 1000;

/**
 * `ctx.progress()` of a queue's running jobs: each call is an event at once, and a throttled
 * write to the storage (a failed write is logged, never thrown into the handler).
 */
export class ProgressReporter implements ProgressSink {
  private readonly lastWrite = new Map<string, number>();

  constructor(
    private readonly deps: Pick<WorkerDeps, 'storage' | 'clock' | 'logger' | 'workerId'>,
    private readonly emit: (record: JobRecord, progress: number, data: unknown) => void,
  ) {}

  async reportProgress(record: JobRecord, percent: number, data?: unknown): Promise<void> {
    if (typeof percent !== 'number' || !Number.isFinite(percent)) {
      throw new TypeError(`ctx.progress() takes a number from 0 to 100, got ${String(percent)}`);
    }
    const value = Math.max(0, Math.min(100, percent));
    this.emit(record, value, data);
    const now = this.deps.clock.now();
    const last = this.lastWrite.get(record.id) ?? 0;
    if (value < 100 && now - last < WRITE_EVERY_MS) return;
    this.lastWrite.set(record.id, now);
    const json = data === undefined ? null : JSON.stringify(data);
    try {
      await this.deps.storage.progress(record.id, this.deps.workerId, value, json);
    } catch (err) {
      this.deps.logger.warn(`Could not store progress of job ${record.id}: ${coerceError(err).message}`);
    }
  }

  /** `ctx.children()`: read from the storage when it is asked for (empty on a storage without flows). */
  async childrenOf(id: string): Promise<ChildOutcome[]> {
    const storage = this.deps.storage;
    return storage.children ? (await storage.children(id)).map(childOutcome) : [];
  }

  /** The job's run is over: forget its throttle. */
  forget(id: string): void {
    this.lastWrite.delete(id);
  }
}
