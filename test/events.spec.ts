import { Injectable } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { Backoff, Job, JobCancelledError, MaxRetries, Processor, type JobContext } from '../lib/index.js';
import { closeAppsAfterEach, queueOf } from './fixtures/app.js';
import { startClockedApp } from './fixtures/clocked-app.js';

@Injectable()
class Signals {
  readonly byJob = new Map<string, AbortSignal>();
}

@Processor({ queue: 'events', maxRetries: MaxRetries.count(2), backoff: Backoff.fixed(10) })
class EventsProcessor {
  constructor(private readonly signals: Signals) {}

  @Job('ok')
  async ok(_payload: unknown, ctx: JobContext) {
    await ctx.progress(50, { step: 'half' });
    return 'fine';
  }

  @Job('fails')
  fails(_payload: unknown, ctx: JobContext) {
    throw new Error(`failure ${ctx.attempt}`);
  }

  @Job('waits-for-cancel')
  waitsForCancel(_payload: unknown, ctx: JobContext) {
    this.signals.byJob.set(ctx.id, ctx.signal);
    return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
  }
}

describe('events$ for one job (FakeClock)', () => {
  closeAppsAfterEach();

  it('success: enqueued → started → progress → completed', async () => {
    const t = await startClockedApp([Signals, EventsProcessor]);
    const { id } = await queueOf(t.app).enqueue('ok', {});
    const completed = await t.log.waitFor('completed', id);
    expect(t.log.typesOf(id)).toEqual(['enqueued', 'started', 'progress', 'completed']);
    expect(t.log.of('progress', id)[0]).toMatchObject({ progress: 50, progressData: { step: 'half' } });
    expect(completed).toMatchObject({ jobId: id, name: 'ok', queue: 'events', attempt: 1, result: 'fine' });
  });

  it('failure: started → failed → retrying … → failed → dead, with attempts and errors', async () => {
    const t = await startClockedApp([Signals, EventsProcessor]);
    const { id } = await queueOf(t.app).enqueue('fails', {});
    await t.log.waitFor('retrying', id, 1);
    await t.clock.advance(10);
    await t.log.waitFor('retrying', id, 2);
    await t.clock.advance(10);
    await t.log.waitFor('dead', id);
    expect(t.log.typesOf(id)).toEqual([
      'enqueued',
      'started', 'failed', 'retrying',
      'started', 'failed', 'retrying',
      'started', 'failed', 'dead',
    ]);
    expect(t.log.of('started', id).map((e) => e.attempt)).toEqual([1, 2, 3]);
    expect(t.log.of('failed', id).map((e) => e.error?.message)).toEqual(['failure 1', 'failure 2', 'failure 3']);
    expect(t.log.of('retrying', id).map((e) => e.retryDelayMs)).toEqual([10, 10]);
    expect(t.log.of('dead', id)[0]).toMatchObject({ attempt: 3, error: { message: 'failure 3' } });
  });

  it('cancel of a waiting job: enqueued → cancelled, and it never starts', async () => {
    const t = await startClockedApp([Signals, EventsProcessor]);
    const { id } = await queueOf(t.app).enqueue('ok', {}, { delay: 1000 });
    const cancelled = await queueOf(t.app).cancel(id);
    expect(cancelled.state).toBe('cancelled');
    await t.log.waitFor('cancelled', id);
    await queueOf(t.app).cancel(id);
    await t.clock.advance(2000);
    expect(t.log.typesOf(id)).toEqual(['enqueued', 'cancelled']);
    expect((await queueOf(t.app).getJob(id))?.state).toBe('cancelled');
  });

  it('cancel of a running job aborts ctx.signal with JobCancelledError: started → cancelled', async () => {
    const t = await startClockedApp([Signals, EventsProcessor], { leaseMs: 300, heartbeatIntervalMs: 100 });
    const { id } = await queueOf(t.app).enqueue('waits-for-cancel', {});
    await t.log.waitFor('started', id);
    await queueOf(t.app).cancel(id);
    await t.clock.advance(100);
    await t.log.waitFor('cancelled', id);
    expect(t.app.get(Signals).byJob.get(id)!.reason).toBeInstanceOf(JobCancelledError);
    expect(t.log.typesOf(id)).toEqual(['enqueued', 'started', 'cancelled']);
    expect((await queueOf(t.app).getJob(id))?.state).toBe('cancelled');
  });
});
