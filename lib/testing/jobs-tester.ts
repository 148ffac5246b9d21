import { Inject, Injectable } from '@nestjs/common';
import type { FakeClock } from '../core/fake-clock.js';
import type { JobRecord } from '../core/job-record.js';
import { jobNameOf, type JobToken } from '../core/job-token.js';
import { assertKnownKeys, knownKeys } from '../core/known-keys.js';
import { assertMs, DELAY_LIMIT } from '../core/option-rules.js';
import { assertInt, assertName } from '../core/validation.js';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { describeJobs, describeMatch, matchesPartial } from './job-match.js';
import { JobsAssertionError } from './jobs-assertion.error.js';
import { JOBS_TESTING, SAFETY_LIMIT } from './jobs-testing.constants.js';
import { enqueuedAfterAll, notEnqueued } from './jobs-testing.messages.js';
import { performJob, type PerformOptions } from './perform-job.js';
import type { DrainResult } from './test-job-runner.js';
import type { TestingJobs } from './testing-jobs.js';

export interface DrainOptions {
  /** Only this queue; default every queue. */
  queue?: string;
  /** Also the delayed jobs and the retries waiting for their backoff, by moving the fake clock. Default false. */
  scheduled?: boolean;
  /** Also the jobs that the drained jobs enqueue, until none is left. Default false (they stay enqueued). */
  recursive?: boolean;
  /** Most job runs (attempts) in this drain; it stops there. Default: no bound but a safety cap of 10 000 runs, past which it throws. */
  limit?: number;
}

const DRAIN_KEYS = knownKeys<DrainOptions>({ queue: true, scheduled: true, recursive: true, limit: true });
const EXPECT_KEYS = knownKeys<{ count?: number }>({ count: true });

/**
 * Assertions on the jobs a test enqueued, and the controls that run them. Injectable from
 * `JobsTestingModule`: `moduleRef.get(JobsTester)`.
 */
@Injectable()
export class JobsTester {
  constructor(@Inject(JOBS_TESTING) private readonly testing: TestingJobs) {}

  /** The fake clock the module runs on. */
  get clock(): FakeClock {
    return this.testing.clock;
  }

  /**
   * The stored jobs waiting to run (available, scheduled, or retryable after a failure),
   * oldest first, newest last; only `job`'s (a token or a name) when given, and only those
   * whose payload contains `match` (deep, partial: extra keys are fine).
   */
  async enqueued<T>(job?: string | JobToken<T>, match?: Partial<T> | Record<string, unknown>): Promise<JobRecord[]> {
    const name = job === undefined ? undefined : assertName('job name', jobNameOf(job as string | JobToken<unknown>));
    const jobs = (await this.testing.runner.pendingJobs()).filter((j) => !this.testing.runner.isInternal(j));
    return jobs.filter((j) => (name === undefined || j.name === name) && (match === undefined || matchesPartial(j.payload, match)));
  }

  /**
   * Throws a `JobsAssertionError` unless a job `job` whose payload contains `match` is enqueued
   * (exactly `count` of them, when given); its message lists what is enqueued. Resolves with the matching jobs.
   */
  async expectEnqueued<T>(
    job: string | JobToken<T>,
    match?: Partial<T> | Record<string, unknown>,
    options: { count?: number } = {},
  ): Promise<JobRecord[]> {
    assertKnownKeys(options, EXPECT_KEYS, 'expectEnqueued options');
    const count = options.count === undefined ? undefined : assertInt('count', options.count, 0);
    const found = await this.enqueued(job, match);
    if (count === undefined ? found.length > 0 : found.length === count) return found;
    const all = await this.enqueued();
    throw new JobsAssertionError(notEnqueued(describeMatch(jobNameOf(job as string | JobToken<unknown>), match), count, found.length, describeJobs(all)));
  }

  /** Throws a `JobsAssertionError` when a job `job` whose payload contains `match` is enqueued; its message lists them. */
  async expectNotEnqueued<T>(job: string | JobToken<T>, match?: Partial<T> | Record<string, unknown>): Promise<void> {
    const found = await this.enqueued(job, match);
    if (!found.length) return;
    throw new JobsAssertionError(enqueuedAfterAll(describeMatch(jobNameOf(job as string | JobToken<unknown>), match), found.length, describeJobs(found)));
  }

  /**
   * Runs the due jobs, one at a time, until none is left, and counts their outcomes. With
   * `scheduled`, delayed jobs and retries run too (the fake clock moves to each one's due
   * time; on a database storage, which keeps its own clock, as far as each waits there, and
   * the job is made due now), so a job that fails and then succeeds on a retry completes in
   * one drain; with
   * `recursive`, the jobs those jobs enqueue run as well.
   */
  async drain(options: DrainOptions = {}): Promise<DrainResult> {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('drain options', 'expected an object');
    assertKnownKeys(options, DRAIN_KEYS, 'drain options');
    const queue = options.queue === undefined ? undefined : assertName('queue name', options.queue);
    const limit = options.limit === undefined ? undefined : assertInt('limit', options.limit, 1);
    const scheduled = flag('scheduled', options.scheduled);
    const recursive = flag('recursive', options.recursive);
    const { runner } = this.testing;
    return runner.run({
      queue,
      ids: recursive ? undefined : await runner.pendingIds(queue),
      scheduled,
      limit: limit ?? SAFETY_LIMIT,
      throwAtLimit: limit === undefined,
    });
  }

  /**
   * Runs `job`'s handler once, directly, with its real dependencies and a real `ctx` (signal,
   * progress, attempt), storing nothing. Resolves with the handler's value or rejects with its error.
   */
  perform<T, R = unknown>(job: string | JobToken<T>, payload: T, options?: PerformOptions): Promise<R> {
    return performJob(this.testing.runtime, this.testing.clock, job as string | JobToken<unknown>, payload, options) as Promise<R>;
  }

  /** Moves the fake clock forward by `ms`, firing what falls due (jobs still run only by `drain()`, in manual mode). */
  async advance(ms: number): Promise<void> {
    await this.testing.clock.advance(assertMs('advance(ms)', ms, DELAY_LIMIT));
  }

  /** Drops every stored job, waiting or finished. */
  async clear(): Promise<void> {
    const { storage } = this.testing.runtime;
    for (const job of await this.testing.runner.pendingJobs()) await storage.cancel(job.id);
    await storage.prune({ olderThan: new Date(8.64e15), states: ['completed', 'dead', 'cancelled'] });
  }
}

function flag(option: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new InvalidOptionsError(option, `expected true or false, got ${typeof value}`);
  return value;
}
