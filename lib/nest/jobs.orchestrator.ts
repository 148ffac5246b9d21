import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { JobsRuntime } from '../core/jobs-runtime.js';
import { JOBS_RUNTIME } from './jobs.constants.js';

/**
 * Lifecycle: handlers are discovered in `onModuleInit` (the explorer); workers start once the
 * whole app is up; before shutdown they stop claiming and drain (before an app's TypeORM
 * DataSource is destroyed in `onApplicationShutdown`); then our own storage closes.
 */
@Injectable()
export class JobsOrchestrator implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(@Inject(JOBS_RUNTIME) private readonly runtime: JobsRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.runtime.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.runtime.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runtime.close();
  }
}
