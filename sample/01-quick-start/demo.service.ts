import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { QueueService } from '../../lib/index.js';
import { BuildAlbum, ImportChunk, ImportFinished, ResizePhoto } from './album/album.jobs.js';
import { SendDigest, SendWelcome, SyncNewsletter } from './email/email.jobs.js';

/**
 * Enqueues a few jobs at start-up: three that succeed, one that succeeds on its retry, one that
 * ends dead; a flow (an album that waits for its photos) and a batch (import chunks with a callback).
 */
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

    // A flow: the album runs once all three photos are resized (each photo in parallel).
    const album = await this.queue.flow({
      job: BuildAlbum,
      payload: { title: 'Summer' },
      children: ['beach', 'harbour', 'sunset'].map((photo) => ({ job: ResizePhoto, payload: { photo } })),
    });
    // A batch: four chunks; `ImportFinished` is enqueued exactly once, when all have finished.
    const chunks = [0, 250, 500, 750].map((from) => ({ name: ImportChunk, payload: { rows: [from, from + 249] as [number, number] } }));
    const batch = await this.queue.batch(chunks, { onComplete: ImportFinished, payload: { source: 'customers.csv' } });
    this.ids.push(album.id, ...batch.ids);
  }

  /** Resolves once every demo job has finished, completed or dead. */
  async finished(): Promise<void> {
    const outcomes = await Promise.allSettled(this.ids.map((id) => this.queue.waitFor(id, { timeoutMs: 60_000 })));
    const completed = outcomes.filter((o) => o.status === 'fulfilled').length;
    // The batch's callback was stored with its last chunk's completion: let it run too.
    await this.queue.onIdle();
    this.logger.log(`Demo jobs finished: ${completed} completed, ${outcomes.length - completed} dead.`);
  }
}
