import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { QueueService, type JobEvent } from '../../lib/index.js';

/** Logs every job's lifecycle from `QueueService.events$`. */
@Injectable()
export class JobEventsLogger implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Jobs');
  private subscription?: Subscription;

  constructor(private readonly queue: QueueService) {}

  onModuleInit(): void {
    this.subscription = this.queue.events$.subscribe((event) => this.log(event));
  }

  onApplicationShutdown(): void {
    this.subscription?.unsubscribe();
    this.logger.log('Workers drained; shut down cleanly.');
  }

  private log(e: JobEvent): void {
    const job = `${e.name} #${e.jobId}`;
    switch (e.type) {
      case 'enqueued':
        return this.logger.log(`enqueued   ${job} on queue '${e.queue}'${e.duplicate ? ' (duplicate of a waiting job)' : ''}`);
      case 'started':
        return this.logger.log(`started    ${job}, attempt ${e.attempt}`);
      case 'completed':
        return this.logger.log(`completed  ${job}${e.result === undefined ? '' : ` -> ${JSON.stringify(e.result)}`}`);
      case 'failed':
        return this.logger.warn(`failed     ${job}, attempt ${e.attempt}: ${e.error?.message}`);
      case 'retrying':
        return this.logger.warn(`retrying   ${job} in ${e.retryDelayMs} ms`);
      case 'dead':
        return this.logger.error(`dead       ${job} after ${e.attempt} attempt(s): ${e.error?.message}`);
      default:
        return this.logger.log(`${e.type.padEnd(10)} ${job}`);
    }
  }
}
