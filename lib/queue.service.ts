import { Inject, Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { BulkJob, EnqueueOptions } from './core/enqueue-options.js';
import type { JobEvent } from './core/job-events.js';
import type { EnqueueResult, JobRecord } from './core/job-record.js';
import type { JobToken } from './core/job-token.js';
import type { JobsRuntime } from './core/jobs-runtime.js';
import type { QueueStats } from './core/storage.js';
import { JOBS_RUNTIME } from './jobs.constants.js';

/** Enqueue jobs and look after them. Inject it anywhere once `JobsModule.forRoot()` is imported. */
@Injectable()
export class QueueService {
  constructor(@Inject(JOBS_RUNTIME) private readonly runtime: JobsRuntime) {}

  /** Stores one job (validated first: name, payload, options). Resolves once it is stored. */
  enqueue<T>(nameOrToken: string | JobToken<T>, payload: T, options?: EnqueueOptions): Promise<EnqueueResult> {
    return this.runtime.client.enqueue(nameOrToken as string | JobToken<unknown>, payload, options);
  }

  /** Stores many jobs in one round trip; every job is validated before any is stored. */
  enqueueMany(jobs: BulkJob[], options?: { manager?: unknown }): Promise<EnqueueResult[]> {
    return this.runtime.client.enqueueMany(jobs, options);
  }

  /** The job, or null when no job has this id. */
  getJob(id: string): Promise<JobRecord | null> {
    return this.runtime.getJob(id);
  }

  /** A waiting job never runs; a running one has its `ctx.signal` aborted and ends `cancelled`. */
  cancel(id: string): Promise<JobRecord> {
    return this.runtime.cancel(id);
  }

  /** A dead, cancelled or completed job goes back to `available` with fresh attempts. */
  retry(id: string): Promise<JobRecord> {
    return this.runtime.retry(id);
  }

  stats(): Promise<QueueStats[]> {
    return this.runtime.stats();
  }

  /** Lifecycle events of jobs on this instance. */
  get events$(): Observable<JobEvent> {
    return this.runtime.events$;
  }

  /** Resolves when nothing is due or running (for tests and scripts). */
  onIdle(queue?: string): Promise<void> {
    return this.runtime.onIdle(queue);
  }
}
