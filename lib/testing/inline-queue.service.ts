import { Inject, Injectable } from '@nestjs/common';
import type { BulkJob, EnqueueOptions } from '../core/enqueue-options.js';
import type { EnqueueResult } from '../core/job-record.js';
import type { JobToken } from '../core/job-token.js';
import { QueueService } from '../nest/queue.service.js';
import { JOBS_TESTING, SAFETY_LIMIT } from './jobs-testing.constants.js';
import type { TestingJobs } from './testing-jobs.js';

/**
 * `QueueService` of the inline mode: `enqueue` stores the job, then runs it to completion
 * (retries by its policy, on the fake clock) before it resolves; a job that ends dead or
 * cancelled rejects it with the job's final error. A duplicate (unique key held) does not run.
 * `enqueueMany` runs every job in order, then rejects with the first such error.
 */
@Injectable()
export class InlineQueueService extends QueueService {
  constructor(@Inject(JOBS_TESTING) private readonly testing: TestingJobs) {
    super(testing.runtime);
  }

  override async enqueue<T>(nameOrToken: string | JobToken<T>, payload: T, options?: EnqueueOptions): Promise<EnqueueResult> {
    const result = await super.enqueue(nameOrToken, payload, options);
    await this.runToEnd(result);
    return result;
  }

  override async enqueueMany(jobs: BulkJob[], options?: { manager?: unknown }): Promise<EnqueueResult[]> {
    const results = await super.enqueueMany(jobs, options);
    // Every job runs, in order; the first that ended dead or cancelled then rejects the call.
    const failures: unknown[] = [];
    for (const result of results) await this.runToEnd(result).catch((err: unknown) => failures.push(err));
    if (failures.length) throw failures[0];
    return results;
  }

  private async runToEnd(result: EnqueueResult): Promise<void> {
    if (result.duplicate) return;
    const { runtime, runner } = this.testing;
    const job = await runtime.storage.get(result.id);
    if (!job) return;
    await runner.run({ queue: job.queue, ids: new Set([job.id]), scheduled: true, limit: SAFETY_LIMIT, throwAtLimit: true });
    const final = await runtime.storage.get(job.id);
    if (final && (final.state === 'dead' || final.state === 'cancelled')) throw runner.finalError(final);
  }
}
