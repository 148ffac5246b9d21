import type { ModuleRef } from '@nestjs/core';
import type { FakeClock } from '../core/fake-clock.js';
import type { JobsOptions } from '../core/jobs-options.js';
import { JobsRuntime } from '../core/jobs-runtime.js';
import { resolveSettings } from '../core/settings.js';
import { JobsError } from '../errors/jobs.error.js';
import { StorageUnavailableError } from '../errors/storage-unavailable.error.js';
import { createStorage } from '../storage/create-storage.js';
import { resolveTestingOptions, type JobsTestingMode, type JobsTestingOptions } from './jobs-testing.options.js';
import { TestJobRunner } from './test-job-runner.js';

/**
 * One test app's jobs machinery: the usual runtime (storage, registry, producer) on a fake
 * clock, with its engine never started (no poll, no heartbeat, no timer), and the runner that
 * runs jobs when the test says so.
 */
export class TestingJobs {
  constructor(
    readonly runtime: JobsRuntime,
    readonly clock: FakeClock,
    readonly runner: TestJobRunner,
    readonly mode: JobsTestingMode,
  ) {}

  /** Outcomes still being written, then the storage closes. */
  async close(): Promise<void> {
    await this.runner.settle();
    await this.runtime.close();
  }
}

/** Builds and connects a test app's runtime; `appOptions`: the overridden app's `JobsModule` options, if any. */
export async function createTestingJobs(
  options: JobsTestingOptions,
  appOptions: Partial<JobsOptions> | null,
  moduleRef: ModuleRef,
): Promise<TestingJobs> {
  const resolved = resolveTestingOptions(options, appOptions);
  // Workers "on" (job names are checked at enqueue, as in the app) but never started; no local hand-off.
  const settings = resolveSettings({ ...resolved.policy, workers: true, localHandoff: false });
  const storage = await createStorage(resolved.storage, resolved.clock, (token) => moduleRef.get(token as string, { strict: false }));
  try {
    await storage.init();
  } catch (err) {
    if (err instanceof JobsError) throw err;
    throw new StorageUnavailableError('could not connect or prepare the jobs schema', err);
  }
  const runtime = new JobsRuntime(storage, settings, resolved.logger, resolved.clock);
  return new TestingJobs(runtime, resolved.clock, new TestJobRunner(runtime, resolved.clock, resolved.logger), resolved.mode);
}
