import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { JOBS_TESTING } from './jobs-testing.constants.js';
import type { TestingJobs } from './testing-jobs.js';

/** `app.close()`: outcomes still being written land, then the storage closes; nothing is left running. */
@Injectable()
export class JobsTestingLifecycle implements OnApplicationShutdown {
  constructor(@Inject(JOBS_TESTING) private readonly testing: TestingJobs) {}

  async onApplicationShutdown(): Promise<void> {
    await this.testing.close();
  }
}
