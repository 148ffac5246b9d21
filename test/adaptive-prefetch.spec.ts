import { afterEach, describe, expect, it } from 'vitest';
import { ADAPTIVE_PREFETCH, AdaptivePrefetch, FixedPrefetch, prefetchSizer } from '../lib/core/adaptive-prefetch.js';
import type { EngineLogger } from '../lib/core/engine-options.js';
import { FakeClock } from '../lib/core/fake-clock.js';
import { JobsRuntime } from '../lib/core/jobs-runtime.js';
import { resolveSettings } from '../lib/core/settings.js';
import type { QueueOptions } from '../lib/core/engine-options.js';
import { MemoryStorage } from '../lib/storage/memory/memory.storage.js';

/** Runs of `ms` each, `n` of them, reported to the sizer. */
function runs(sizer: AdaptivePrefetch, n: number, ms: number): void {
  for (let i = 0; i < n; i++) sizer.finished(ms);
}

describe('AdaptivePrefetch: the buffer size from observed run and claim times', () => {
  it('starts at the concurrency before any job has finished', () => {
    const clock = new FakeClock();
    expect(new AdaptivePrefetch(10).size(clock.now(), [])).toBe(10);
    expect(new AdaptivePrefetch(3).size(clock.now(), [clock.now()])).toBe(3);
  });

  it('grows to the upper bound for short jobs', () => {
    const clock = new FakeClock();
    const sizer = new AdaptivePrefetch(10);
    runs(sizer, 20, 0);
    expect(sizer.size(clock.now(), [])).toBe(ADAPTIVE_PREFETCH.max);
    const sizer1ms = new AdaptivePrefetch(10);
    runs(sizer1ms, 20, 1);
    expect(sizer1ms.size(clock.now(), [])).toBe(ADAPTIVE_PREFETCH.max);
  });

  it('holds about 100 ms of the slots\' work for mid-length jobs', () => {
    const clock = new FakeClock();
    const sizer = new AdaptivePrefetch(10);
    runs(sizer, 50, 20);
    // 10 slots × 100 ms / 20 ms per job.
    expect(sizer.size(clock.now(), [])).toBe(50);
  });

  it('shrinks to nothing for slow jobs, so that no instance hoards them', () => {
    const clock = new FakeClock();
    const sizer = new AdaptivePrefetch(2);
    runs(sizer, 20, 0);
    expect(sizer.size(clock.now(), [])).toBe(ADAPTIVE_PREFETCH.max);
    runs(sizer, 30, 500);
    expect(sizer.size(clock.now(), [clock.now() - 100, clock.now() - 400])).toBe(0);
  });

  it('grows again when slow jobs give way to short ones', () => {
    const clock = new FakeClock();
    const sizer = new AdaptivePrefetch(10);
    runs(sizer, 30, 1000);
    expect(sizer.size(clock.now(), [])).toBe(1);
    runs(sizer, 40, 0);
    expect(sizer.size(clock.now(), [])).toBe(ADAPTIVE_PREFETCH.max);
  });

  it('stops buffering as soon as the slots are taken by jobs far longer than usual, before any of them finishes', async () => {
    const clock = new FakeClock();
    const sizer = new AdaptivePrefetch(4);
    runs(sizer, 20, 1);
    const since = [clock.now(), clock.now(), clock.now(), clock.now()];
    // 4 slots × 100 ms / 1 ms per job.
    expect(sizer.size(clock.now(), since)).toBe(400);
    await clock.advance(ADAPTIVE_PREFETCH.bufferMs + 1);
    expect(sizer.size(clock.now(), since)).toBe(0);
    // One slot still runs short jobs: the buffer is sized for that one slot.
    expect(sizer.size(clock.now(), since.slice(0, 3))).toBe(100);
  });

  it('counts slow first jobs as stalled before any has finished', async () => {
    const clock = new FakeClock();
    const sizer = new AdaptivePrefetch(4);
    const since = [clock.now(), clock.now()];
    await clock.advance(ADAPTIVE_PREFETCH.bufferMs + 1);
    expect(sizer.size(clock.now(), since)).toBe(2);
  });

  it('covers a few claim round trips when claims are slow', () => {
    const clock = new FakeClock();
    const sizer = new AdaptivePrefetch(10);
    runs(sizer, 50, 10);
    expect(sizer.size(clock.now(), [])).toBe(100);
    for (let i = 0; i < 50; i++) sizer.claimed(50);
    // 4 round trips of 50 ms: 200 ms of work for 10 slots of 10 ms jobs.
    expect(sizer.size(clock.now(), [])).toBe(200);
  });

  it('stays within its bounds: never below 0, never above max(500, concurrency)', () => {
    const clock = new FakeClock();
    const big = new AdaptivePrefetch(2000);
    runs(big, 20, 0);
    expect(big.size(clock.now(), [])).toBe(2000);
    const slow = new AdaptivePrefetch(1);
    runs(slow, 20, 3_600_000);
    expect(slow.size(clock.now(), [clock.now() - 7_200_000])).toBe(0);
  });

  it('hands back buffered jobs that would wait over a second for a slot, keeping what it would buffer now', async () => {
    const clock = new FakeClock();
    const sizer = new AdaptivePrefetch(10);
    runs(sizer, 20, 0);
    // Short jobs: 400 buffered are gone in moments.
    expect(sizer.excess(clock.now(), [], 400)).toBe(0);
    // Every slot taken by a job far longer than usual: the buffer waits on nothing.
    const since = Array.from({ length: 10 }, () => clock.now());
    await clock.advance(ADAPTIVE_PREFETCH.bufferMs + 1);
    expect(sizer.excess(clock.now(), since, 300)).toBe(300);
    // 1 s jobs on 10 slots: 50 buffered wait 5 s; 1 is what it would buffer now.
    runs(sizer, 60, 1000);
    expect(sizer.excess(clock.now(), [], 50)).toBe(49);
    // 8 buffered wait 0.8 s: kept.
    expect(sizer.excess(clock.now(), [], 8)).toBe(0);
  });

  it('leaves an explicit prefetch (0 included) as it is, whatever it observes', () => {
    for (const n of [0, 7, 500]) {
      const sizer = prefetchSizer(10, n);
      expect(sizer).toBeInstanceOf(FixedPrefetch);
      sizer.finished(5000);
      sizer.claimed(5000);
      expect(sizer.size(0, [-1_000_000])).toBe(n);
      expect(sizer.excess(0, [-1_000_000], 1000)).toBe(0);
    }
    expect(prefetchSizer(10, undefined)).toBeInstanceOf(AdaptivePrefetch);
  });
});

/** Records the limit of every claim; refuses past `maxClaims` (a claim loop that spins fails the test instead of hanging it). */
class ClaimLog extends MemoryStorage {
  readonly claimSizes: number[] = [];
  maxClaims = 1000;

  override async claim(queue: string, workerId: string, limit: number, leaseMs: number, startNow?: number) {
    this.claimSizes.push(limit);
    if (this.claimSizes.length > this.maxClaims) throw new Error('too many claims');
    return super.claim(queue, workerId, limit, leaseMs, startNow);
  }

  async held(): Promise<number> {
    return (await this.stats()).find((s) => s.queue === 'q')?.running ?? 0;
  }
}

const quiet: EngineLogger = { log: () => undefined, warn: () => undefined, error: () => undefined };

describe('a queue runner without a prefetch option', () => {
  let runtime: JobsRuntime | null = null;
  let clock: FakeClock | null = null;
  afterEach(async () => {
    if (!runtime) return;
    // Shutdown waits for running handlers, which wait for the fake clock.
    let stopped = false;
    const stopping = runtime.stop().finally(() => (stopped = true));
    while (!stopped) await clock!.advance(100);
    await stopping;
    await runtime.close();
    runtime = null;
  });

  /** `jobMs`: how long each job runs, by its index. */
  async function start(queue: QueueOptions, jobMs: number | ((i: number) => number), jobs: number) {
    clock = new FakeClock();
    const storage = new ClaimLog({ clock });
    runtime = new JobsRuntime(storage, resolveSettings({ queues: { q: queue }, pollIntervalMs: 50, heartbeatIntervalMs: 500 }), quiet, clock);
    let done = 0;
    const runMs = typeof jobMs === 'number' ? () => jobMs : jobMs;
    runtime.registry.register({
      name: 'j',
      queue: 'q',
      owner: 'Test.j',
      handler: async (payload) => {
        const ms = runMs((payload as { i: number }).i);
        if (ms) await new Promise<void>((resolve) => clock!.setTimeout(resolve, ms));
        done++;
      },
    });
    await runtime.client.enqueueMany(Array.from({ length: jobs }, (_, i) => ({ name: 'j', payload: { i }, options: { queue: 'q' } })));
    await runtime.start();
    return { clock, storage, done: () => done };
  }

  it('claims short jobs in batches that grow to the upper bound', async () => {
    const { clock, storage, done } = await start({ concurrency: 10 }, 0, 3000);
    for (let i = 0; i < 100 && done() < 3000; i++) await clock.advance(1);
    expect(done()).toBe(3000);
    expect(storage.claimSizes[0]).toBe(20);
    // A refill claims the free room: the upper bound less what is still held.
    expect(Math.max(...storage.claimSizes)).toBeGreaterThan(ADAPTIVE_PREFETCH.max * 0.9);
    expect(storage.claimSizes.length).toBeLessThan(20);
  });

  it('stops buffering slow jobs: holds no more than its slots once it has seen them run', async () => {
    // 4 slots of 1 s jobs: 100 ms of their work is 0.4 jobs, so no buffer.
    const { clock, storage, done } = await start({ concurrency: 4 }, 1000, 40);
    // The first claim fills the slots and a buffer of the concurrency.
    await clock.advance(1);
    expect(await storage.held()).toBe(8);
    let mostHeld = 0;
    await clock.advance(2000);
    while (done() < 40) {
      await clock.advance(50);
      mostHeld = Math.max(mostHeld, await storage.held());
    }
    expect(mostHeld).toBe(4);
  });

  it('hands back the jobs it buffered while jobs were short once they turn long, without counting their attempts', async () => {
    // 30 short jobs, then 300 of 1 s: the buffer fills with long jobs while the short ones run.
    const { clock, storage, done } = await start({ concurrency: 2 }, (i) => (i < 30 ? 0 : 1000), 330);
    for (let i = 0; i < 20 && done() < 30; i++) await clock.advance(1);
    expect(done()).toBe(30);
    expect(await storage.held()).toBeGreaterThan(100);
    // The slots stall on long jobs; the next heartbeat (every 500 ms) hands the buffer back.
    await clock.advance(600);
    expect(await storage.held()).toBe(2);
    const waiting = await storage.list({ queue: 'q', state: 'available', limit: 500 });
    expect(waiting.jobs.length).toBe(298);
    expect(waiting.jobs.every((j) => j.attempt === 0)).toBe(true);
    // And it runs them later all the same.
    while (done() < 40) await clock.advance(250);
  });

  it('keeps an explicit prefetch as it is for slow jobs', async () => {
    const { clock, storage, done } = await start({ concurrency: 4, prefetch: 3 }, 500, 40);
    let mostHeld = 0;
    await clock.advance(1000);
    while (done() < 40) {
      await clock.advance(50);
      mostHeld = Math.max(mostHeld, await storage.held());
    }
    expect(mostHeld).toBe(7);
    expect(Math.max(...storage.claimSizes)).toBeLessThanOrEqual(7);
  });

  it('keeps an explicit prefetch as it is for short jobs', async () => {
    const { clock, storage, done } = await start({ concurrency: 10, prefetch: 5 }, 0, 300);
    for (let i = 0; i < 200 && done() < 300; i++) await clock.advance(1);
    expect(done()).toBe(300);
    expect(storage.claimSizes[0]).toBe(15);
    expect(Math.max(...storage.claimSizes)).toBe(15);
  });

  it('with an explicit prefetch of 0, claims only for free slots and does not claim while every slot is busy', async () => {
    const { clock, storage, done } = await start({ concurrency: 2, prefetch: 0 }, 500, 6);
    storage.maxClaims = 50;
    while (done() < 6 && storage.claimSizes.length <= 50) await clock.advance(100);
    expect(done()).toBe(6);
    expect(Math.max(...storage.claimSizes)).toBe(2);
    expect(storage.claimSizes.length).toBeLessThanOrEqual(8);
  });
});
