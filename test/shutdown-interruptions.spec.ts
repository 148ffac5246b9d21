import type { DynamicModule } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { Backoff, InvalidOptionsError, Job, JobsModule, MemoryStorage, Processor, type JobContext, type JobsModuleOptions } from '../lib/index.js';
import { closeApp, closeAppsAfterEach, compileApp, queueOf, startApp } from './fixtures/app.js';
import { EventLog } from './fixtures/event-log.js';

/** Ids of the runs started so far (every app of this file), and who waits for the next. */
const starts: string[] = [];
let onStart: (() => void) | null = null;

/** A job longer than any shutdown grace: it honours the abort, but never finishes before it. */
@Processor('long')
class NeverFinishes {
  @Job('endless', { maxRetries: 1, backoff: Backoff.fixed(1) })
  async endless(_payload: unknown, ctx: JobContext) {
    starts.push(ctx.id);
    onStart?.();
    await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
  }
}

/** Resolves once job `id` has started `n` runs in all. */
async function startedTimes(id: string, n: number): Promise<void> {
  while (starts.filter((s) => s === id).length < n) await new Promise<void>((resolve) => (onStart = resolve));
}

class DeployModule {
  static register(storage: MemoryStorage, options: JobsModuleOptions = {}): DynamicModule {
    return {
      module: DeployModule,
      imports: [JobsModule.forRoot({ storage: { instance: storage }, logger: false, pollIntervalMs: 5, shutdownTimeoutMs: 10, ...options })],
      providers: [NeverFinishes],
    };
  }
}

/** One deploy: an instance starts, the job starts on it, the instance shuts down. */
async function deploy(storage: MemoryStorage, id: string, options: JobsModuleOptions = {}): Promise<EventLog> {
  const before = starts.filter((s) => s === id).length;
  const app = await startApp({ imports: [DeployModule.register(storage, options)] });
  const log = new EventLog(queueOf(app).events$);
  await startedTimes(id, before + 1);
  await closeApp(app);
  return log;
}

describe('shutdown interruptions are capped', () => {
  closeAppsAfterEach();

  it('a job interrupted at every deploy is handed back maxInterruptions times, then each interruption counts as an attempt until it is dead', async () => {
    const storage = new MemoryStorage();
    const { id } = (await storage.enqueue([{ queue: 'long', name: 'endless', payload: 'null', priority: 0, maxAttempts: 2 }]))[0]!;
    const options = { maxInterruptions: 2 };

    for (const n of [1, 2]) {
      const log = await deploy(storage, id, options);
      expect(log.count('released', id)).toBe(1);
      expect(await storage.get(id)).toMatchObject({ state: 'available', attempt: 0, interruptions: n, lastError: null });
    }

    // The third interruption is past the cap: the attempt counts, as a failure would.
    const third = await deploy(storage, id, options);
    expect(third.count('released', id)).toBe(0);
    expect(third.count('retrying', id)).toBe(1);
    const afterThird = (await storage.get(id))!;
    expect(afterThird).toMatchObject({ state: 'retryable', attempt: 1, interruptions: 3 });
    expect(afterThird.lastError).toMatchObject({ name: 'JobInterruptedError', attempt: 1 });
    expect(afterThird.lastError!.message).toMatch(/interrupted by shutdown 3 times/);
    expect(afterThird.lastError!.message).toMatch(/maxInterruptions/);

    // The fourth uses the last attempt: the job is dead, and its error says why.
    const fourth = await deploy(storage, id, options);
    expect(fourth.count('dead', id)).toBe(1);
    const dead = (await storage.get(id))!;
    expect(dead).toMatchObject({ state: 'dead', attempt: 2, interruptions: 4 });
    expect(dead.lastError!.message).toMatch(/interrupted by shutdown 4 times/);
  });

  it('the default cap is 3; jobs handed back before they started are not interruptions', async () => {
    const storage = new MemoryStorage();
    const { id } = (await storage.enqueue([{ queue: 'long', name: 'endless', payload: 'null', priority: 0, maxAttempts: 5 }]))[0]!;
    for (let n = 1; n <= 3; n++) await deploy(storage, id);
    expect(await storage.get(id)).toMatchObject({ state: 'available', attempt: 0, interruptions: 3 });
    await deploy(storage, id);
    expect(await storage.get(id)).toMatchObject({ state: 'retryable', attempt: 1, interruptions: 4 });

    // Prefetched but never started: handed back at shutdown without counting anything.
    const waiting = await storage.enqueue([1, 2, 3].map(() => ({ queue: 'long', name: 'endless', payload: 'null', priority: 0, maxAttempts: 5 })));
    const runsBefore = starts.length;
    const app = await startApp({ imports: [DeployModule.register(storage, { queues: { long: { concurrency: 1, prefetch: 4 } } })] });
    while (starts.length === runsBefore) await new Promise<void>((resolve) => (onStart = resolve));
    await closeApp(app);
    const started = starts.slice(runsBefore);
    expect(started).toHaveLength(1);
    for (const r of waiting) {
      if (!started.includes(r.id)) expect(await storage.get(r.id)).toMatchObject({ state: 'available', attempt: 0, interruptions: 0 });
    }
  });

  it('maxInterruptions is validated like the other options', async () => {
    for (const bad of [-1, 1.5, 'three']) {
      const app = await compileApp({ imports: [DeployModule.register(new MemoryStorage(), { maxInterruptions: bad as number })] }).catch((e: unknown) => e);
      const err = app instanceof Error ? app : await (app as { init(): Promise<unknown> }).init().then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidOptionsError);
      expect((err as InvalidOptionsError).message).toMatch(/maxInterruptions/);
    }
    const misspelt = { maxInteruptions: 3 } as JobsModuleOptions;
    const app = await compileApp({ imports: [DeployModule.register(new MemoryStorage(), misspelt)] }).catch((e: unknown) => e);
    const err = app instanceof Error ? app : await (app as { init(): Promise<unknown> }).init().then(() => null, (e: unknown) => e);
    expect((err as Error).message).toMatch(/did you mean 'maxInterruptions'/);
  });
});
