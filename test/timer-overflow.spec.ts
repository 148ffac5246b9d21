import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../lib/core/clock.js';
import { resolveSettings } from '../lib/core/settings.js';
import { createStorage } from '../lib/storage/create-storage.js';
import type { JobsOptions } from '../lib/core/jobs-options.js';
import { InvalidOptionsError, Job, JobsModule, Processor, type JobContext } from '../lib/index.js';
import { closeAppsAfterEach, compileApp, queueOf, startApp } from './fixtures/app.js';

const MAX_TIMER = 2 ** 31 - 1;
const DAY = 86_400_000;

/** Node's setTimeout fires after 1 ms past 2^31 − 1 ms (and warns): the system clock must not. */
describe('system clock timers longer than 2^31 − 1 ms', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a real timer of 2^31 ms does not fire within a short wait, and Node does not warn of an overflow', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => void warnings.push(w.name);
    process.on('warning', onWarning);
    const fn = vi.fn();
    const handle = systemClock.setTimeout(fn, 2 ** 31);
    try {
      await new Promise((r) => setTimeout(r, 30));
      expect(fn).not.toHaveBeenCalled();
    } finally {
      systemClock.clearTimeout(handle);
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });

  it('re-arms in chunks of at most 2^31 − 1 ms and fires at the full duration', () => {
    vi.useFakeTimers(); // Vitest's fake timers overflow past 2^31 − 1 ms as Node does
    const fn = vi.fn();
    systemClock.setTimeout(fn, 2 * MAX_TIMER + 1000);
    vi.advanceTimersByTime(MAX_TIMER);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(MAX_TIMER);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(999);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('clearTimeout cancels a chained timer, also after its first chunk has passed', () => {
    vi.useFakeTimers();
    const early = vi.fn();
    const late = vi.fn();
    const a = systemClock.setTimeout(early, 2 ** 31);
    const b = systemClock.setTimeout(late, 2 ** 31 + 10);
    systemClock.clearTimeout(a);
    vi.advanceTimersByTime(MAX_TIMER + 1);
    systemClock.clearTimeout(b);
    vi.advanceTimersByTime(10 * DAY);
    expect(early).not.toHaveBeenCalled();
    expect(late).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('short timers are plain Node timers, as before', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    systemClock.setTimeout(fn, 5);
    vi.advanceTimersByTime(4);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe('millisecond options are bounded, and the error says the limit', () => {
  it.each<[string, JobsOptions]>([
    ['pollIntervalMs', { pollIntervalMs: MAX_TIMER + 1 }],
    ['leaseMs', { leaseMs: MAX_TIMER + 1 }],
    ['heartbeatIntervalMs', { heartbeatIntervalMs: MAX_TIMER + 1 }],
    ['rescueIntervalMs', { rescueIntervalMs: MAX_TIMER + 1 }],
    ['shutdownTimeoutMs', { shutdownTimeoutMs: MAX_TIMER + 1 }],
    ['abortGraceMs', { abortGraceMs: MAX_TIMER + 1 }],
    ['retention.intervalMs', { retention: { intervalMs: MAX_TIMER + 1 } }],
  ])('%s past 2^31 − 1 ms is refused, naming the option and the limit', (option, options) => {
    const err = catchError(() => resolveSettings(options));
    expect(err).toBeInstanceOf(InvalidOptionsError);
    expect(err).toMatchObject({ option });
    expect((err as Error).message).toContain(String(MAX_TIMER));
    expect((err as Error).message).toMatch(/24\.8 days/);
  });

  it('intervals up to 2^31 − 1 ms are accepted', () => {
    const s = resolveSettings({
      pollIntervalMs: MAX_TIMER,
      leaseMs: MAX_TIMER,
      heartbeatIntervalMs: MAX_TIMER - 1,
      rescueIntervalMs: MAX_TIMER,
      shutdownTimeoutMs: MAX_TIMER,
      abortGraceMs: MAX_TIMER,
      retention: { intervalMs: MAX_TIMER },
    });
    expect(s).toMatchObject({ pollIntervalMs: MAX_TIMER, leaseMs: MAX_TIMER, maintenanceIntervalMs: MAX_TIMER });
  });

  it('the idle queue of the report (pollIntervalMs: 2,500,000,000) is refused at start-up', async () => {
    const err = await compileApp({ imports: [JobsModule.forRoot({ storage: { type: 'memory' }, pollIntervalMs: 2_500_000_000, logger: false })] })
      .then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionsError);
    expect((err as Error).message).toMatch(/pollIntervalMs.*2147483647/);
  });

  it('a job timeout is bounded at 30 days: module, @Processor, @Job and enqueue alike', async () => {
    expect(resolveSettings({ timeout: 30 * DAY }).timeoutMs).toBe(30 * DAY);
    expect(catchError(() => resolveSettings({ timeout: 30 * DAY + 1 }))).toMatchObject({ option: 'timeout', message: expect.stringMatching(/30 days/) });

    @Processor({ queue: 'too-long', timeout: 30 * DAY + 1 })
    class TooLongProcessor {
      @Job('too-long')
      run() {}
    }
    @Processor('too-long-job')
    class TooLongJob {
      @Job('too-long-job', { timeout: 30 * DAY + 1 })
      run() {}
    }
    for (const provider of [TooLongProcessor, TooLongJob]) {
      const app = await compileApp({ imports: [JobsModule.forRoot({ storage: { type: 'memory' }, logger: false })], providers: [provider] });
      const err = await app.init().then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidOptionsError);
      expect((err as Error).message).toMatch(/timeout of .*\.run.*30 days/);
      await app.close();
    }
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['sqlite busyTimeoutMs', { type: 'sqlite', database: ':memory:', busyTimeoutMs: MAX_TIMER + 1 }, 'storage.busyTimeoutMs'],
    ['postgres listenHealthCheckMs', { type: 'postgres', listenHealthCheckMs: MAX_TIMER + 1 }, 'storage.listenHealthCheckMs'],
    ['postgres listenHealthCheckMs of 0', { type: 'postgres', listenHealthCheckMs: 0 }, 'storage.listenHealthCheckMs'],
    ['dataSource busyTimeoutMs', { dataSource: {}, busyTimeoutMs: -1 }, 'storage.busyTimeoutMs'],
  ])('storage option %s out of range is refused', async (_what, storage, option) => {
    const err = await createStorage(storage as never, undefined, () => undefined).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionsError);
    expect(err).toMatchObject({ option });
  });
});

const seen: Array<{ name: string; aborted: boolean }> = [];

@Processor({ queue: 'long-timeouts', maxRetries: 0 })
class LongTimeoutProcessor {
  @Job('job-timeout', { timeout: 2 ** 31 })
  async jobTimeout(_p: unknown, ctx: JobContext) {
    return observe('job-timeout', ctx);
  }

  @Job('plain')
  async plain(_p: unknown, ctx: JobContext) {
    return observe('plain', ctx);
  }
}

async function observe(name: string, ctx: JobContext): Promise<string> {
  await new Promise((r) => setTimeout(r, 50));
  seen.push({ name, aborted: ctx.signal.aborted });
  return 'done';
}

describe('a job timeout of 2^31 ms or more (system clock)', () => {
  closeAppsAfterEach();

  it('does not abort the job at once: from @Job, from enqueue, from the module default', async () => {
    seen.length = 0;
    const app = await startApp({
      imports: [JobsModule.forRoot({ storage: { type: 'memory' }, timeout: 2 ** 31 + 5, pollIntervalMs: 10, logger: false })],
      providers: [LongTimeoutProcessor],
    });
    const queue = queueOf(app);
    const ids = [
      (await queue.enqueue('job-timeout', {})).id,
      (await queue.enqueue('plain', {}, { timeout: 2 ** 31 })).id,
      (await queue.enqueue('plain', {}, { timeout: 30 * DAY })).id,
      (await queue.enqueue('plain', {})).id, // the module's default timeout
    ];
    for (const id of ids) expect(await queue.waitFor(id, { timeoutMs: 5_000 })).toBe('done');
    expect(seen).toHaveLength(4);
    expect(seen.every((s) => !s.aborted)).toBe(true);
    const err = await queue.enqueue('plain', {}, { timeout: 30 * DAY + 1 }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionsError);
    expect(err).toMatchObject({ option: 'timeout', message: expect.stringMatching(/30 days/) });
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return null;
}
