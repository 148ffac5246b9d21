import { Injectable, type DynamicModule } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { Job, JobsModule, Processor, type JobContext, type JobEvent } from '../lib/index.js';
import { closeAppsAfterEach, queueOf, startApp } from './fixtures/app.js';
import { deferred, flush } from './fixtures/deferred.js';
import { EventLog } from './fixtures/event-log.js';

/** Counts handlers running at once, per queue, and the most ever seen. */
@Injectable()
class Tracker {
  readonly gate = deferred();
  readonly active = new Map<string, number>();
  readonly max = new Map<string, number>();

  async run(ctx: JobContext): Promise<void> {
    const now = (this.active.get(ctx.queue) ?? 0) + 1;
    this.active.set(ctx.queue, now);
    this.max.set(ctx.queue, Math.max(now, this.max.get(ctx.queue) ?? 0));
    await this.gate.promise;
    await flush(2);
    this.active.set(ctx.queue, this.active.get(ctx.queue)! - 1);
  }
}

@Processor('a')
class AProcessor {
  constructor(private readonly tracker: Tracker) {}
  @Job('a-job')
  run(_payload: unknown, ctx: JobContext) {
    return this.tracker.run(ctx);
  }
}

@Processor('b')
class BProcessor {
  constructor(private readonly tracker: Tracker) {}
  @Job('b-job')
  run(_payload: unknown, ctx: JobContext) {
    return this.tracker.run(ctx);
  }
}

@Processor('c')
class CProcessor {
  constructor(private readonly tracker: Tracker) {}
  @Job('c-job')
  run(_payload: unknown, ctx: JobContext) {
    return this.tracker.run(ctx);
  }
}

class ConcurrencyAppModule {
  static register(): DynamicModule {
    return {
      module: ConcurrencyAppModule,
      imports: [
        JobsModule.forRoot({
          storage: { type: 'memory' },
          logger: false,
          defaultConcurrency: 2,
          queues: { a: { concurrency: 3, prefetch: 10 }, b: { concurrency: 1 } },
        }),
      ],
      providers: [Tracker, AProcessor, BProcessor, CProcessor],
    };
  }
}

const onQueue = (queue: string) => (e: JobEvent) => e.type === 'started' && e.queue === queue;

describe('concurrency per queue', () => {
  closeAppsAfterEach();

  it('never runs more than N handlers of a queue at once, reaches N under load, and queues are independent', async () => {
    const app = await startApp({ imports: [ConcurrencyAppModule.register()] });
    const log = new EventLog(queueOf(app).events$);
    const tracker = app.get(Tracker);
    await queueOf(app).enqueueMany([
      ...Array.from({ length: 20 }, (_, i) => ({ name: 'a-job', payload: { i } })),
      ...Array.from({ length: 5 }, (_, i) => ({ name: 'b-job', payload: { i } })),
      ...Array.from({ length: 6 }, (_, i) => ({ name: 'c-job', payload: { i } })),
    ]);

    // Every slot taken, all at the same time: a's 3 do not use up b's or c's.
    await log.waitUntil(onQueue('a'), 3);
    await log.waitUntil(onQueue('b'), 1);
    await log.waitUntil(onQueue('c'), 2);
    await flush(50);
    expect(log.events.filter(onQueue('a'))).toHaveLength(3);
    expect(log.events.filter(onQueue('b'))).toHaveLength(1);
    expect(log.events.filter(onQueue('c'))).toHaveLength(2);
    expect(Object.fromEntries(tracker.active)).toEqual({ a: 3, b: 1, c: 2 });

    tracker.gate.resolve();
    await queueOf(app).onIdle();
    expect(Object.fromEntries(tracker.max)).toEqual({ a: 3, b: 1, c: 2 });
    expect(log.count('completed')).toBe(31);
  });
});
