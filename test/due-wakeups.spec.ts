import { describe, expect, it } from 'vitest';
import { Backoff, Job, MaxRetries, Processor, type JobContext } from '../lib/index.js';
import { closeAppsAfterEach, queueOf } from './fixtures/app.js';
import { startClockedApp } from './fixtures/clocked-app.js';

/** Fails its first run, then succeeds: the second run is the retry. */
@Processor({ queue: 'due', maxRetries: MaxRetries.count(1) })
class DueProcessor {
  @Job('retry-soon', { backoff: Backoff.fixed(100) })
  soon(_p: unknown, ctx: JobContext) {
    if (ctx.attempt === 1) throw new Error('first run fails');
  }

  @Job('retry-later', { backoff: Backoff.fixed(300) })
  later(_p: unknown, ctx: JobContext) {
    if (ctx.attempt === 1) throw new Error('first run fails');
  }

  @Job('delayed')
  delayed() {}
}

// A poll interval far longer than any delay here: a job that starts on time was woken for its due time.
const POLL = { pollIntervalMs: 60_000 };

describe('jobs this instance knows of start when due, not a poll later (FakeClock)', () => {
  closeAppsAfterEach();

  it('two pending retries of one queue each start at their own due time', async () => {
    const { app, clock, log } = await startClockedApp([DueProcessor], POLL);
    const soon = await queueOf(app).enqueue('retry-soon', {});
    const later = await queueOf(app).enqueue('retry-later', {});
    await log.waitFor('retrying', soon.id);
    await log.waitFor('retrying', later.id);
    const failedAt = clock.now();

    await clock.advance(100);
    await log.waitFor('completed', soon.id);
    expect(log.count('started', later.id)).toBe(1);
    await clock.advance(200);
    await log.waitFor('completed', later.id);
    expect(log.of('started', soon.id)[1]!.at - failedAt).toBe(100);
    expect(log.of('started', later.id)[1]!.at - failedAt).toBe(300);
  });

  it('a delayed job enqueued here starts at its delay', async () => {
    const { app, clock, log } = await startClockedApp([DueProcessor], POLL);
    const enqueuedAt = clock.now();
    const { id } = await queueOf(app).enqueue('delayed', {}, { delay: 500 });
    await clock.advance(499);
    expect(log.count('started', id)).toBe(0);
    await clock.advance(1);
    await log.waitFor('completed', id);
    expect(log.of('started', id)[0]!.at - enqueuedAt).toBe(500);
  });

  it('a job enqueued here with runAt starts at runAt, also in bulk', async () => {
    const { app, clock, log } = await startClockedApp([DueProcessor], POLL);
    const at = clock.now() + 750;
    const [a, b] = await queueOf(app).enqueueMany([
      { name: 'delayed', payload: { n: 1 }, options: { runAt: new Date(at) } },
      { name: 'delayed', payload: { n: 2 }, options: { delay: 1_250 } },
    ]);
    await clock.advance(750);
    await log.waitFor('completed', a!.id);
    expect(log.of('started', a!.id)[0]!.at).toBe(at);
    expect(log.count('started', b!.id)).toBe(0);
    await clock.advance(500);
    await log.waitFor('completed', b!.id);
  });
});
