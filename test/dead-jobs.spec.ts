import { Injectable, type DynamicModule } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { Backoff, Job, JobNotFoundError, JobsModule, Processor, type JobContext } from '../lib/index.js';
import { closeAppsAfterEach, queueOf, startApp } from './fixtures/app.js';
import { EventLog } from './fixtures/event-log.js';

@Injectable()
class Outage {
  /** While true, every send fails. */
  down = true;
}

@Processor({ queue: 'dead', maxRetries: 2, backoff: Backoff.fixed(0) })
class FlakySender {
  constructor(private readonly outage: Outage) {}

  @Job('send')
  send(_payload: unknown, ctx: JobContext) {
    if (this.outage.down) throw new TypeError(`smtp down (attempt ${ctx.attempt})`);
    return { delivered: ctx.attempt };
  }
}

class DeadAppModule {
  static register(): DynamicModule {
    return {
      module: DeadAppModule,
      imports: [JobsModule.forRoot({ storage: { type: 'memory' }, logger: false, pollIntervalMs: 2 })],
      providers: [Outage, FlakySender],
    };
  }
}

describe('dead jobs', () => {
  closeAppsAfterEach();

  it('keep the last error (name, message, stack, attempt) once out of attempts', async () => {
    const app = await startApp({ imports: [DeadAppModule.register()] });
    const log = new EventLog(queueOf(app).events$);
    const { id } = await queueOf(app).enqueue('send', {});
    await log.waitFor('dead', id);
    const job = await queueOf(app).getJob(id);
    expect(job).toMatchObject({ state: 'dead', attempt: 3 });
    expect(job!.failedAt).toBeInstanceOf(Date);
    expect(job!.lastError).toMatchObject({ name: 'TypeError', message: 'smtp down (attempt 3)', attempt: 3 });
    expect(job!.lastError!.stack).toContain('TypeError: smtp down (attempt 3)');
    expect(job!.lastError!.stack).toContain('dead-jobs.spec.ts');
    expect((await queueOf(app).stats()).find((s) => s.queue === 'dead')).toMatchObject({ dead: 1, available: 0, running: 0 });
  });

  it('retry(id) brings a dead job back with fresh attempts, and it runs again', async () => {
    const app = await startApp({ imports: [DeadAppModule.register()] });
    const log = new EventLog(queueOf(app).events$);
    const { id } = await queueOf(app).enqueue('send', {});
    await log.waitFor('dead', id);

    app.get(Outage).down = false;
    const back = await queueOf(app).retry(id);
    expect(back.id).toBe(id);
    expect(back.state).not.toBe('dead');
    await log.waitFor('completed', id);
    expect(await queueOf(app).getJob(id)).toMatchObject({ state: 'completed', attempt: 1, result: { delivered: 1 } });
    expect(log.count('started', id)).toBe(4);
  });

  it('retry(id) of an unknown id throws JobNotFoundError', async () => {
    const app = await startApp({ imports: [DeadAppModule.register()] });
    await expect(queueOf(app).retry('404')).rejects.toBeInstanceOf(JobNotFoundError);
  });
});
