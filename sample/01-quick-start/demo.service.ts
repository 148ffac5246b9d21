import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { QueueService } from '../../lib/index.js';
import { SendDigest, SendWelcome, SyncNewsletter } from './email/email.jobs.js';

/** Enqueues a few jobs at start-up: three that succeed, one that succeeds on its retry, one that ends dead. */
@Injectable()
export class DemoService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Demo');
  private ids: string[] = [];

  constructor(private readonly queue: QueueService) {}

  async onApplicationBootstrap(): Promise<void> {
    const results = await this.queue.enqueueMany([
      { name: SendWelcome, payload: { userId: 'ada' } },
      { name: SendWelcome, payload: { userId: 'grace' } },
      { name: SendWelcome, payload: { userId: 'linus' } },
      { name: SendDigest, payload: { week: '2026-W01' } },
      { name: SyncNewsletter, payload: { listId: 'weekly' } },
    ]);
    this.ids = results.map((r) => r.id);
  }

  /** Resolves once every demo job has finished, completed or dead. */
  async finished(): Promise<void> {
    const outcomes = await Promise.allSettled(this.ids.map((id) => this.queue.waitFor(id, { timeoutMs: 60_000 })));
    const completed = outcomes.filter((o) => o.status === 'fulfilled').length;
    this.logger.log(`Demo jobs finished: ${completed} completed, ${outcomes.length - completed} dead.`);
  }
}
