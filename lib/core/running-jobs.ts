import { JobCancelledError } from '../errors/job-cancelled.error.js';
import { LeaseLostAbort } from './abort-reasons.js';
import { abortRun, type RunningJob } from './job-run.js';

/** The handlers a queue runner has running, by job id. */
export class RunningJobs {
  private readonly runs = new Map<string, RunningJob>();

  get size(): number {
    return this.runs.size;
  }

  add(run: RunningJob): void {
    this.runs.set(run.record.id, run);
  }

  delete(run: RunningJob): void {
    this.runs.delete(run.record.id);
  }

  ids(): IterableIterator<string> {
    return this.runs.keys();
  }

  /** When each handler that has been called started. */
  *since(): Iterable<number> {
    for (const run of this.runs.values()) if (run.startedAt) yield run.startedAt;
  }

  /**
   * Ids of jobs whose handlers started here while the storage still counts them prefetched
   * (they started from the buffer): the next heartbeat records their start, so that from then
   * on a crash counts their attempt.
   */
  *unrecordedStarts(): Iterable<string> {
    for (const run of this.runs.values()) if (!run.startRecorded) yield run.record.id;
  }

  /** A heartbeat recorded the start of these jobs. */
  startsRecorded(ids: readonly string[]): void {
    for (const id of ids) {
      const run = this.runs.get(id);
      if (run) run.startRecorded = true;
    }
  }

  /** The storage says these leases are gone, or these jobs were cancelled: their handlers are aborted. */
  onHeartbeat(lost: Set<string>, cancelled: Set<string>): void {
    for (const [id, run] of this.runs) {
      if (lost.has(id)) abortRun(run, new LeaseLostAbort(id));
      else if (cancelled.has(id)) abortRun(run, new JobCancelledError(id));
    }
  }

  abortAll(reason: Error): void {
    for (const run of this.runs.values()) abortRun(run, reason);
  }

  /** Each handler's end. */
  settled(): Promise<void>[] {
    return [...this.runs.values()].map((r) => r.settled);
  }
}
