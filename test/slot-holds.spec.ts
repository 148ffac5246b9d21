import { afterEach, describe, expect, it } from 'vitest';
import type { EngineLogger, QueueOptions } from '../lib/core/engine-options.js';
import { FakeClock } from '../lib/core/fake-clock.js';
import { JobsRuntime } from '../lib/core/jobs-runtime.js';
import { resolveSettings } from '../lib/core/settings.js';
import { SLOT_HOLD } from '../lib/core/slot-hold.js';
import { fairShares, grantSlots, heldAfter } from '../lib/core/slots.js';
import { MemoryStorage } from '../lib/storage/memory/memory.storage.js';

describe('slot grants (core/slots.ts)', () => {
  it('shares a limit evenly among those that want slots, none getting more than it wants', () => {
    expect(fairShares(10, [4, 10, 10])).toEqual([4, 3, 3]);
    expect(fairShares(5, [5, 5])).toEqual([3, 2]);
    expect(fairShares(3, [0, 5, 1])).toEqual([0, 2, 1]);
    expect(fairShares(0, [3])).toEqual([0]);
  });

  it('grants what is wanted out of what the others do not hold, and only a fair share while another waits', () => {
    expect(grantSlots(5, { want: 5 }, [])).toEqual({ slots: 5, othersWaiting: false });
    expect(grantSlots(5, { want: 5 }, [{ held: 4, want: 4 }])).toEqual({ slots: 1, othersWaiting: false });
    // The other holds nothing and wants 5: this one is cut to 3 of 5 (it asks first, so it gets the odd one).
    expect(grantSlots(5, { want: 5 }, [{ held: 0, want: 5 }])).toEqual({ slots: 3, othersWaiting: true });
    expect(grantSlots(2, { want: 5 }, [{ held: 3, want: 3 }])).toEqual({ slots: 0, othersWaiting: false });
  });

  it('keeps the slots in use while the grant is cut: the hold stored is the more of the two', () => {
    expect(heldAfter({ keep: 4 }, { slots: 2, othersWaiting: true })).toBe(4);
    expect(heldAfter({ keep: 1 }, { slots: 2, othersWaiting: false })).toBe(2);
  });
});

const quiet: EngineLogger = { log: () => undefined, warn: () => undefined, error: () => undefined };

describe('instances sharing a global concurrency (memory storage, fake clock)', () => {
  const runtimes: JobsRuntime[] = [];
  let clock: FakeClock;
  let storage: MemoryStorage;
  /** Handlers running now and the most at once, across instances; runs per instance. */
  const seen = { active: 0, max: 0, runs: new Map<string, number>() };

  afterEach(async () => {
    for (const r of runtimes.splice(0)) {
      let stopped = false;
      const stopping = r.stop().finally(() => (stopped = true));
      while (!stopped) await clock.advance(50);
      await stopping;
    }
  });

  function start(name: string, queue: QueueOptions, jobMs: number): JobsRuntime {
    const runtime = new JobsRuntime(storage, resolveSettings({ queues: { q: queue }, pollIntervalMs: 50, leaseMs: 3000 }), quiet, clock);
    runtime.registry.register({
      name: 'j',
      queue: 'q',
      owner: 'Test.j',
      handler: async () => {
        seen.active++;
        seen.max = Math.max(seen.max, seen.active);
        seen.runs.set(name, (seen.runs.get(name) ?? 0) + 1);
        await new Promise<void>((resolve) => clock.setTimeout(resolve, jobMs));
        seen.active--;
      },
    });
    runtimes.push(runtime);
    return runtime;
  }

  const setUp = async (jobs: number) => {
    clock = new FakeClock();
    storage = new MemoryStorage({ clock });
    Object.assign(seen, { active: 0, max: 0, runs: new Map() });
    await storage.setLimits('q', { globalConcurrency: 4 });
    await storage.enqueue(Array.from({ length: jobs }, () => ({ queue: 'q', name: 'j', payload: '{}', priority: 0, maxAttempts: 3 })));
  };
  /** What a newcomer wanting every slot would be granted now (it lets go at once). */
  const free = async () => {
    const grant = (await storage.holdSlots('q', 'probe', { want: 4, keep: 0, leaseMs: 1000 }))!.slots;
    await storage.holdSlots('q', 'probe', { want: 0, keep: 0, leaseMs: 1000 });
    return grant;
  };

  it('a second instance gets a fair share from one holding every slot, and the total never exceeds the limit', async () => {
    await setUp(400);
    const a = start('a', { concurrency: 4 }, 100);
    await a.start();
    await clock.advance(500);
    expect(seen.runs.get('a')).toBeGreaterThan(0);
    expect(seen.max).toBe(4);
    const b = start('b', { concurrency: 4 }, 100);
    await b.start();
    // b asks, is refused and recorded as waiting; a is cut to its share at its next refresh and hands back.
    for (let t = 0; t < 3 * SLOT_HOLD.refreshMs && !seen.runs.get('b'); t += 50) await clock.advance(50);
    expect(seen.runs.get('b')).toBeGreaterThan(0);
    const before = { a: seen.runs.get('a')!, b: seen.runs.get('b')! };
    await clock.advance(2000);
    // Both run from now on, about evenly: 2 slots each of 100 ms jobs, 20 per second.
    expect(seen.runs.get('a')! - before.a).toBeGreaterThan(25);
    expect(seen.runs.get('b')! - before.b).toBeGreaterThan(25);
    expect(seen.max).toBe(4);
    // workerStatus() shows each instance's share.
    expect([a.engine!.status().queues.q!.slots, b.engine!.status().queues.q!.slots]).toEqual([2, 2]);
  });

  it('slots left idle go back after lingerMs; a stopped instance lets go of every slot', async () => {
    await setUp(8);
    const a = start('a', { concurrency: 4 }, 100);
    await a.start();
    await clock.advance(250);
    expect(seen.runs.get('a')).toBe(8);
    expect(await free()).toBe(0);
    await clock.advance(SLOT_HOLD.lingerMs + 100);
    expect(await free()).toBe(4);
    expect(a.engine!.status().queues.q).toEqual({ active: 0, buffered: 0, slots: 0 });
    // New work: it asks again, and holds them while it runs.
    await storage.enqueue(Array.from({ length: 8 }, () => ({ queue: 'q', name: 'j', payload: '{}', priority: 0, maxAttempts: 3 })));
    a.engine!.wake('q');
    await clock.advance(60);
    expect(seen.active).toBe(4);
    expect(await free()).toBe(0);
    let stopped = false;
    const stopping = a.stop().finally(() => (stopped = true));
    while (!stopped) await clock.advance(50);
    await stopping;
    runtimes.splice(0);
    expect(await free()).toBe(4);
  });
});
