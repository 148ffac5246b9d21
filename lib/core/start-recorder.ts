import { JobCancelledError } from '../errors/job-cancelled.error.js';
import { coerceError } from './coerce-error.js';
import type { JobExecutor, WorkerDeps } from './job-executor.js';
import type { JobRecord } from './job-record.js';

/** What the recorder needs of its runner. */
export interface StartRecorderHost {
  readonly stopping: boolean;
  /** Runs a job (`startRecorded`: its start is on record). */
  startJob(job: JobRecord, startRecorded: boolean): void;
  /** Slots may be free: start buffered jobs, claim. */
  kick(): void;
  /** The write failed: these go back to the front of the buffer, tried again at the next wake-up. */
  putBack(jobs: JobRecord[]): void;
}

/**
 * Prefetched jobs that a crash already returned unstarted once (`rescuedUnstarted`) run only
 * once their start is on record, so that a crash now counts their attempt: a job that
 * crashes its process is given one uncounted crash, not a loop of them. One heartbeat write
 * records the starts of a batch (such jobs are rare: only after a crash); their slots are
 * held meanwhile. If the write fails they go back to the front of the buffer.
 */
export class StartRecorder {
  /** Jobs holding a slot while their start is recorded. */
  private readonly starting = new Map<string, JobRecord>();
  /** Those writes in flight. */
  private readonly writes = new Set<Promise<void>>();

  constructor(
    private readonly queue: string,
    private readonly deps: WorkerDeps,
    private readonly executor: JobExecutor,
    private readonly host: StartRecorderHost,
  ) {}

  /** Slots held by starts being recorded. */
  get size(): number {
    return this.starting.size;
  }

  ids(): IterableIterator<string> {
    return this.starting.keys();
  }

  /** The writes in flight (shutdown waits for them). */
  pending(): Promise<void>[] {
    return [...this.writes];
  }

  /** Lost jobs are let go; cancelled ones are recorded cancelled, never started. */
  onHeartbeat(lost: Set<string>, cancelled: Set<string>): void {
    for (const [id, job] of this.starting) {
      if (lost.has(id)) this.starting.delete(id);
      else if (cancelled.has(id)) {
        this.starting.delete(id);
        void this.executor.finishFailed(job, new JobCancelledError(id), 'cancelled');
      }
    }
  }

  /** `job` holds a slot from now on, until its start is recorded (`record`). */
  hold(job: JobRecord): JobRecord {
    this.starting.set(job.id, job);
    return job;
  }

  /** Records the start of `jobs` (each `hold` first), then runs them. */
  record(jobs: JobRecord[]): void {
    const ids = jobs.map((j) => j.id);
    const { storage, workerId, settings, logger } = this.deps;
    const write: Promise<void> = storage.heartbeat(ids, workerId, settings.leaseMs, ids).then(
      async ({ lost, cancelled }) => {
        const gone = new Set(lost);
        const cancel = new Set(cancelled);
        const handBacks: Promise<void>[] = [];
        for (const job of jobs) {
          // Lost or cancelled meanwhile (a heartbeat's news): already let go.
          if (!this.starting.delete(job.id) || gone.has(job.id)) continue;
          if (cancel.has(job.id)) void this.executor.finishFailed(job, new JobCancelledError(job.id), 'cancelled');
          else if (this.host.stopping) handBacks.push(this.executor.handBack(job));
          else this.host.startJob(job, true);
        }
        this.host.kick();
        await Promise.all(handBacks);
      },
      async (err: unknown) => {
        const back = jobs.filter((j) => this.starting.delete(j.id));
        if (this.host.stopping) {
          await Promise.all(back.map((j) => this.executor.handBack(j)));
          return;
        }
        logger.warn(`Could not record the start of ${back.length} job(s) of queue '${this.queue}'; trying again at the next wake-up: ${coerceError(err).message}`);
        this.host.putBack(back);
      },
    ).finally(() => this.writes.delete(write));
    this.writes.add(write);
  }
}
