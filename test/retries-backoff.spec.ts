import { describe, expect, it } from 'vitest';
import { Backoff, Job, MaxRetries, Processor, type JobContext } from '../lib/index.js';
import { closeAppsAfterEach, queueOf, runtimeOf } from './fixtures/app.js';
import { startClockedApp, type ClockedApp } from './fixtures/clocked-app.js';

function fail(): never {
  throw new Error('boom');
}

@Processor({ queue: 'retry', maxRetries: MaxRetries.count(3), backoff: Backoff.fixed(50) })
class RetryProcessor {
  @Job('always-fails')
  alwaysFails() {
    fail();
  }

  @Job('linear', { backoff: Backoff.linear(20) })
  linear() {
    fail();
  }

  @Job('exponential', { backoff: Backoff.exponential(2, { initialMs: 10, jitter: false }) })
  exponential() {
    fail();
  }

  @Job('capped', { backoff: Backoff.exponential(10, { initialMs: 10, maxMs: 500, jitter: false }) })
  capped() {
    fail();
  }

  @Job('job-options', { maxRetries: MaxRetries.count(1), backoff: Backoff.fixed(7) })
  jobOptions() {
    fail();
  }

  @Job('no-retries', { maxRetries: 0 })
  noRetries() {
    fail();
  }

  @Job('plain-numbers', { maxRetries: 2, backoff: 30 })
  plainNumbers() {
    fail();
  }

  @Job('no-backoff', { backoff: 0 })
  noBackoff() {
    fail();
  }
}

@Processor({ queue: 'forever', maxRetries: MaxRetries.infinite(), backoff: Backoff.fixed(5) })
class ForeverProcessor {
  @Job('until-attempt')
  untilAttempt(payload: { succeedOn: number }, ctx: JobContext) {
    if (ctx.attempt < payload.succeedOn) fail();
    return { attempt: ctx.attempt };
  }
}

@Processor('plain')
class PlainProcessor {
  @Job('plain-fails')
  plainFails() {
    fail();
  }
}

/**
 * Steps the fake clock through each retry delay: the job must not start again 1 ms before
 * the delay is over, and must start once it is. Returns when the last run has failed.
 */
async function expectRetriesAfter({ clock, log }: ClockedApp, jobId: string, delays: number[]): Promise<void> {
  await log.waitFor('failed', jobId, 1);
  for (const [i, delay] of delays.entries()) {
    await clock.advance(delay - 1);
    expect(log.count('started', jobId), `run ${i + 2} started before its ${delay} ms delay`).toBe(i + 1);
    await clock.advance(1);
    await log.waitFor('started', jobId, i + 2);
    await log.waitFor('failed', jobId, i + 2);
  }
  const starts = log.of('started', jobId).map((e) => e.at);
  expect(starts.slice(1).map((at, i) => at - starts[i]!)).toEqual(delays);
}

describe('retries and backoff (FakeClock)', () => {
  closeAppsAfterEach();

  it('MaxRetries.count(3) gives up to 4 runs, with the fixed delay between them, then dead', async () => {
    const t = await startClockedApp([RetryProcessor]);
    const { id } = await queueOf(t.app).enqueue('always-fails', {});
    await expectRetriesAfter(t, id, [50, 50, 50]);
    await t.log.waitFor('dead', id);
    expect(await queueOf(t.app).getJob(id)).toMatchObject({ state: 'dead', attempt: 4, maxAttempts: 4 });
    await t.clock.advance(200);
    expect(t.log.count('started', id)).toBe(4);
  });

  it('Backoff.linear(ms) waits ms, 2·ms, 3·ms', async () => {
    const t = await startClockedApp([RetryProcessor]);
    const { id } = await queueOf(t.app).enqueue('linear', {});
    await expectRetriesAfter(t, id, [20, 40, 60]);
  });

  it('Backoff.exponential(base, { initialMs }) waits initialMs·base^n', async () => {
    const t = await startClockedApp([RetryProcessor]);
    const { id } = await queueOf(t.app).enqueue('exponential', {});
    await expectRetriesAfter(t, id, [20, 40, 80]);
  });

  it('Backoff.exponential caps each delay at maxMs', async () => {
    const t = await startClockedApp([RetryProcessor]);
    const { id } = await queueOf(t.app).enqueue('capped', {});
    await expectRetriesAfter(t, id, [100, 500, 500]);
  });

  it('exponential jitter stays within ±25 % of the raw delay and under the cap', () => {
    const b = Backoff.exponential(2, { initialMs: 100, maxMs: 1000 });
    expect(b.delayMs(1, () => 0)).toBe(150);
    expect(b.delayMs(1, () => 1)).toBe(250);
    expect(b.delayMs(1, () => 0.5)).toBe(200);
    expect(b.delayMs(5, () => 1)).toBe(1000);
  });

  it('MaxRetries.infinite() keeps retrying and never goes dead', async () => {
    const t = await startClockedApp([ForeverProcessor]);
    const { id } = await queueOf(t.app).enqueue('until-attempt', { succeedOn: 12 });
    await expectRetriesAfter(t, id, Array(10).fill(5));
    await t.clock.advance(5);
    await t.log.waitFor('completed', id);
    expect(t.log.count('dead')).toBe(0);
    expect(await queueOf(t.app).getJob(id)).toMatchObject({ state: 'completed', attempt: 12, maxAttempts: null, result: { attempt: 12 } });
  });

  it("@Job options override the processor's", async () => {
    const t = await startClockedApp([RetryProcessor]);
    const { id } = await queueOf(t.app).enqueue('job-options', {});
    await expectRetriesAfter(t, id, [7]);
    await t.log.waitFor('dead', id);
    expect(await queueOf(t.app).getJob(id)).toMatchObject({ state: 'dead', attempt: 2, maxAttempts: 2 });
  });

  it("@Job({ maxRetries: 0 }) overrides the processor's retries: one run, then dead", async () => {
    const t = await startClockedApp([RetryProcessor]);
    const { id } = await queueOf(t.app).enqueue('no-retries', {});
    await t.log.waitFor('dead', id);
    expect(await queueOf(t.app).getJob(id)).toMatchObject({ state: 'dead', attempt: 1, maxAttempts: 1 });
  });

  it("@Job({ backoff: 0 }) overrides the processor's backoff: retried at once", async () => {
    const t = await startClockedApp([RetryProcessor]);
    const { id } = await queueOf(t.app).enqueue('no-backoff', {});
    await t.log.waitFor('retrying', id);
    expect(t.log.of('retrying', id)[0]!.retryDelayMs).toBe(0);
  });

  it('plain numbers: maxRetries 2 and backoff 30 mean MaxRetries.count(2) and Backoff.fixed(30)', async () => {
    const t = await startClockedApp([RetryProcessor]);
    const { id } = await queueOf(t.app).enqueue('plain-numbers', {});
    await expectRetriesAfter(t, id, [30, 30]);
    await t.log.waitFor('dead', id);
    expect(t.log.count('started', id)).toBe(3);
  });

  it('enqueue options override both the @Job and the processor options', async () => {
    const t = await startClockedApp([RetryProcessor]);
    const queue = queueOf(t.app);
    const once = await queue.enqueue('job-options', {}, { maxRetries: 0 });
    await t.log.waitFor('dead', once.id);
    expect(t.log.count('started', once.id)).toBe(1);

    const custom = await queue.enqueue('job-options', {}, { maxRetries: MaxRetries.count(2), backoff: Backoff.fixed(3) });
    await expectRetriesAfter(t, custom.id, [3, 3]);
    await t.log.waitFor('dead', custom.id);
    expect(await queue.getJob(custom.id)).toMatchObject({ attempt: 3, maxAttempts: 3 });
  });

  it('module options set the default policy of processors that set none', async () => {
    const t = await startClockedApp([PlainProcessor], { maxRetries: 2, backoff: Backoff.fixed(15) });
    const { id } = await queueOf(t.app).enqueue('plain-fails', {});
    await expectRetriesAfter(t, id, [15, 15]);
    await t.log.waitFor('dead', id);
    expect(t.log.count('started', id)).toBe(3);
  });

  it('defaults: 5 retries, exponential base 2 (2 s, 4 s …) with jitter and a 1 h cap', async () => {
    const t = await startClockedApp([PlainProcessor]);
    expect(runtimeOf(t.app).settings.maxRetries.maxAttempts).toBe(6);
    expect(runtimeOf(t.app).settings.backoff.spec).toEqual({ type: 'exponential', base: 2, initialMs: 1000, maxMs: 3_600_000, jitter: true });
    const { id } = await queueOf(t.app).enqueue('plain-fails', {});
    const retrying = await t.log.waitFor('retrying', id);
    expect(retrying.retryDelayMs).toBeGreaterThanOrEqual(1500);
    expect(retrying.retryDelayMs).toBeLessThanOrEqual(2500);
    expect(await queueOf(t.app).getJob(id)).toMatchObject({ state: 'retryable', maxAttempts: 6 });
  });
});
