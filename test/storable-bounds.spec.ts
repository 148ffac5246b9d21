import { describe, expect, it } from 'vitest';
import {
  Backoff,
  FakeClock,
  InvalidOptionsError,
  Job,
  JobsModule,
  MaxRetries,
  Processor,
  type EnqueueOptions,
} from '../lib/index.js';
import { resolveSettings } from '../lib/core/settings.js';
import { closeAppsAfterEach, compileApp, queueOf } from './fixtures/app.js';
import { memoryApp, refusal } from './fixtures/refusal.js';
import { DAY, EARLIEST, LATEST, MAX_DELAY, MAX_RETRIES } from './fixtures/storable-limits.js';


@Processor('bounds')
class BoundsProcessor {
  @Job('plain')
  plain() {}
}

describe('dates and counts are bounded to what every storage holds (memory storage)', () => {
  closeAppsAfterEach();

  it.each<[string, EnqueueOptions, string, RegExp]>([
    ['delay: 3e14', { delay: 3e14 }, 'delay', /3155760000000 \(100 years\)/],
    ['delay: MAX_SAFE_INTEGER', { delay: Number.MAX_SAFE_INTEGER }, 'delay', /100 years/],
    ['runAt in year 10000', { runAt: new Date('+010000-01-01T00:00:00Z') }, 'runAt', /1000-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z/],
    ['runAt at the latest Date', { runAt: new Date(8.64e15) }, 'runAt', /9999-12-31/],
    ['runAt at the earliest Date', { runAt: new Date(-8.64e15) }, 'runAt', /1000-01-01/],
    ['runAt before year 0', { runAt: new Date('-000001-06-01T00:00:00Z') }, 'runAt', /1000-01-01/],
    ['runAt 1 ms before 1000-01-01', { runAt: new Date(EARLIEST - 1) }, 'runAt', /1000-01-01/],
    ['runAt 1 ms after 9999-12-31', { runAt: new Date(LATEST + 1) }, 'runAt', /9999-12-31/],
    ['maxRetries: 2**31', { maxRetries: 2 ** 31 }, 'maxRetries', /2147483646.*MaxRetries\.infinite\(\)/],
    ['maxRetries: 2**31 − 1', { maxRetries: 2 ** 31 - 1 }, 'maxRetries', /2147483646/],
    ['a fixed backoff past 100 years', { backoff: MAX_DELAY + 1 }, 'backoff', /100 years/],
    ['unique.ttlMs past 100 years', { uniqueKey: 'k', unique: { ttlMs: MAX_DELAY + 1 } }, 'unique.ttlMs', /100 years/],
  ])('enqueue with %s: InvalidOptionsError naming the option and the limit', async (_what, options, option, message) => {
    const { app, storage } = await memoryApp([], { workers: false });
    const err = await refusal(InvalidOptionsError, queueOf(app).enqueue('plain', {}, options));
    expect(err.option).toBe(option);
    expect(err.message).toMatch(message);
    await refusal(InvalidOptionsError, queueOf(app).enqueueMany([{ name: 'plain', payload: {}, options }]));
    expect((await storage.list({})).jobs).toEqual([]);
  });

  it('the values at the edge are accepted and stored as given', async () => {
    const { app, storage } = await memoryApp([], { workers: false });
    const queue = queueOf(app);
    const latest = await queue.enqueue('plain', {}, { runAt: new Date(LATEST), maxRetries: MAX_RETRIES });
    const earliest = await queue.enqueue('plain', {}, { runAt: new Date(EARLIEST), maxRetries: MaxRetries.count(MAX_RETRIES) });
    const before = Date.now();
    const delayed = await queue.enqueue('plain', {}, { delay: MAX_DELAY, backoff: MAX_DELAY, uniqueKey: 'w', unique: { ttlMs: MAX_DELAY } });
    expect(await storage.get(latest.id)).toMatchObject({ runAt: new Date(LATEST), maxAttempts: 2 ** 31 - 1 });
    expect(await storage.get(earliest.id)).toMatchObject({ runAt: new Date(EARLIEST), maxAttempts: 2 ** 31 - 1 });
    const runAt = (await storage.get(delayed.id))!.runAt.getTime();
    expect(runAt).toBeGreaterThanOrEqual(before + MAX_DELAY);
    expect(runAt).toBeLessThanOrEqual(Date.now() + MAX_DELAY);
  });

  it('now + delay must fall by 9999-12-31 too (an instance whose clock reads 9990)', async () => {
    const clock = new FakeClock(Date.UTC(9990, 0, 1));
    const { app } = await memoryApp([], { workers: false, clock });
    const err = await refusal(InvalidOptionsError, queueOf(app).enqueue('plain', {}, { delay: 20 * 365 * DAY }));
    expect(err.option).toBe('delay');
    expect(err.message).toMatch(/9999-12-31T23:59:59.999Z/);
  });

  it('MaxRetries and Backoff factories refuse what no storage can hold', async () => {
    expect((await refusal(InvalidOptionsError, () => MaxRetries.count(2 ** 31))).message).toMatch(/2147483646/);
    expect(MaxRetries.count(MAX_RETRIES).maxAttempts).toBe(2 ** 31 - 1);
    for (const make of [
      () => Backoff.fixed(MAX_DELAY + 1),
      () => Backoff.linear(MAX_DELAY + 1),
      () => Backoff.exponential(2, { initialMs: MAX_DELAY + 1 }),
      () => Backoff.exponential(2, { maxMs: MAX_DELAY + 1 }),
    ]) {
      expect((await refusal(InvalidOptionsError, make)).message).toMatch(/100 years/);
    }
    expect(Backoff.fixed(MAX_DELAY).delayMs(1)).toBe(MAX_DELAY);
  });

  it('a computed backoff never goes past 100 years (a linear backoff after many attempts)', () => {
    expect(Backoff.linear(MAX_DELAY).delayMs(10_000)).toBe(MAX_DELAY);
    expect(Backoff.linear(DAY).delayMs(1_000_000)).toBe(MAX_DELAY);
    expect(Backoff.linear(DAY).delayMs(3)).toBe(3 * DAY);
  });

  it('module defaults refuse them too', async () => {
    expect((await refusal(InvalidOptionsError, () => resolveSettings({ maxRetries: 2 ** 31 }))).option).toBe('maxRetries');
    expect((await refusal(InvalidOptionsError, () => resolveSettings({ backoff: Number.MAX_SAFE_INTEGER }))).option).toBe('backoff');
    expect(resolveSettings({ maxRetries: MAX_RETRIES }).maxRetries.maxAttempts).toBe(2 ** 31 - 1);
  });

  it('@Processor and @Job options refuse them at start-up', async () => {
    @Processor({ queue: 'p', maxRetries: 2 ** 31 })
    class TooManyRetries {
      @Job('too-many')
      run() {}
    }
    @Processor('j')
    class TooLongBackoff {
      @Job('too-long-backoff', { backoff: MAX_DELAY + 1 })
      run() {}
    }
    for (const [provider, option] of [[TooManyRetries, 'maxRetries'], [TooLongBackoff, 'backoff']] as const) {
      const app = await compileApp({ imports: [JobsModule.forRoot({ storage: { type: 'memory' }, logger: false })], providers: [provider] });
      const err = await refusal(InvalidOptionsError, app.init());
      expect(err.option).toBe(option);
      await app.close();
    }
  });

  it('priority is bounded already (±1,000,000 fits every integer column)', async () => {
    const { app } = await memoryApp([], { workers: false });
    expect((await refusal(InvalidOptionsError, queueOf(app).enqueue('plain', {}, { priority: 2 ** 31 }))).option).toBe('priority');
    expect((await refusal(InvalidOptionsError, queueOf(app).enqueue('plain', {}, { priority: -1_000_001 }))).option).toBe('priority');
  });
});

void BoundsProcessor;
