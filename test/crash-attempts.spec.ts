import { filter, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { EngineLogger } from '../lib/core/engine-options.js';
import { Engine } from '../lib/core/engine.js';
import { FakeClock } from '../lib/core/fake-clock.js';
import { HandlerRegistry, type JobHandlerFn } from '../lib/core/handler-registry.js';
import type { NewJob } from '../lib/core/job-record.js';
import { resolveSettings } from '../lib/core/settings.js';
import type { Storage } from '../lib/core/storage.js';
import { MemoryStorage } from '../lib/storage/memory/memory.storage.js';
import { deferred, type Deferred } from './fixtures/deferred.js';

/**
 * A crash (kill -9) costs an attempt only of the jobs whose handlers started: the jobs a dead
 * worker had only prefetched come back with their attempt, and a job that crashes its process
 * each time it starts still runs out of attempts. Instances share one memory storage and one
 * fake clock; an instance "dies" when its storage stops answering (no write of it lands any
 * more, its timers stall on calls that never return), and is never stopped.
 */

const LEASE = 1_000;
const quiet: EngineLogger = { log() {}, warn() {}, error() {} };
const hang = new Promise<never>(() => undefined);

/** The storage as one process sees it; after `die()` every call of that process waits for ever. */
function mortal(inner: MemoryStorage): { storage: Storage; die(): void } {
  let alive = true;
  const storage = new Proxy(inner, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (prop === 'wakeups' || prop === 'cancellations') {
        return () => (fn.call(target) as Observable<string>).pipe(filter(() => alive));
      }
      return (...args: unknown[]) => (alive ? fn.apply(target, args) : hang);
    },
  });
  return { storage, die: () => (alive = false) };
}

/** One app instance's workers: queue 'q', its handler, `concurrency` slots and `prefetch` more jobs buffered. */
function instance(storage: Storage, clock: FakeClock, handler: JobHandlerFn, concurrency: number, prefetch: number): Engine {
  const registry = new HandlerRegistry();
  registry.register({ name: 'job', queue: 'q', handler, owner: 'CrashSpec.job' });
  const settings = resolveSettings({ leaseMs: LEASE, pollIntervalMs: 50, queues: { q: { concurrency, prefetch } } });
  const engine = new Engine({ storage, registry, settings, logger: quiet, clock });
  engine.start();
  return engine;
}

const job = (payload: object, maxAttempts: number | null, priority = 0): NewJob => ({
  queue: 'q', name: 'job', payload: JSON.stringify(payload), priority, maxAttempts,
});

/** A memory storage whose next heartbeat that reports a start waits until the test lets it through. */
class HeldBeats extends MemoryStorage {
  hold: Deferred | null = null;
  reported: string[][] = [];
  override async heartbeat(ids: string[], workerId: string, leaseMs: number, started: string[] = []) {
    if (started.length) {
      this.reported.push(started);
      const hold = this.hold;
      this.hold = null;
      if (hold) await hold.promise;
    }
    return super.heartbeat(ids, workerId, leaseMs, started);
  }
}

/** Stores jobs as a worker that died with them in its buffer leaves them: rescued unstarted. */
async function returnedUnstarted(memory: MemoryStorage, clock: FakeClock, jobs: NewJob[]): Promise<string[]> {
  const ids = (await memory.enqueue(jobs)).map((r) => r.id);
  await memory.claim('q', 'w-dead', ids.length, LEASE, 0);
  await clock.advance(LEASE * 2);
  await memory.rescue();
  for (const id of ids) expect(await memory.get(id)).toMatchObject({ state: 'available', attempt: 0, rescuedUnstarted: true });
  return ids;
}

async function until(clock: FakeClock, done: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await done()) return;
    await clock.advance(10);
  }
  throw new Error(`still waiting for ${what}`);
}

describe('a crash costs attempts only of jobs that ran (kill -9 with a prefetch buffer)', () => {
  it('buffered jobs of a worker that died come back with attempt 0 and run as attempt 1; none ends dead without running', async () => {
    const clock = new FakeClock();
    const memory = new MemoryStorage({ clock });
    // maxRetries 0 everywhere but j3 (maxRetries 2).
    const ids = (await memory.enqueue([
      job({ n: 0, hang: true }, 1), job({ n: 1 }, 1), job({ n: 2, hang: true }, 1), job({ n: 3 }, 3), job({ n: 4 }, 1), job({ n: 5 }, 1),
    ])).map((r) => r.id);
    const runs: Array<{ id: string; attempt: number; on: string }> = [];
    const a = mortal(memory);
    // Two slots, four buffered: j0 and j1 start at once; j1 finishes, so j2 starts from the buffer.
    instance(a.storage, clock, (payload, ctx) => {
      runs.push({ id: ctx.id, attempt: ctx.attempt, on: 'A' });
      return (payload as { hang?: boolean }).hang ? hang : undefined;
    }, 2, 4);
    await until(clock, async () => (await memory.get(ids[1]!))!.state === 'completed', 'j1 to complete');
    expect(runs.map((r) => r.id)).toEqual(ids.slice(0, 3));
    expect((await memory.get(ids[2]!))!.prefetched).toBe(true);
    // A heartbeat renews every lease and records that j2 started.
    await clock.advance(LEASE / 3 + 10);
    expect((await memory.get(ids[2]!))!.prefetched).toBe(false);
    expect((await memory.list({ state: 'running' })).jobs.filter((j) => j.prefetched).map((j) => j.id).sort()).toEqual(ids.slice(3).sort());

    a.die();
    await clock.advance(LEASE * 2);
    expect(await memory.rescue()).toBe(5);
    // j0 (started by the claim) and j2 (reported by the heartbeat) ran: the crash counts, and they had no retries left.
    for (const id of [ids[0]!, ids[2]!]) {
      expect(await memory.get(id)).toMatchObject({ state: 'dead', attempt: 1, lastError: { name: 'LeaseExpired' } });
    }
    // j3..j5 never started: available, attempt 0, never dead.
    for (const id of ids.slice(3)) {
      expect(await memory.get(id)).toMatchObject({ state: 'available', attempt: 0, rescuedUnstarted: true, lastError: null });
    }

    const b = instance(memory, clock, (_payload, ctx) => {
      runs.push({ id: ctx.id, attempt: ctx.attempt, on: 'B' });
    }, 2, 4);
    await until(clock, async () => (await memory.list({ state: 'completed' })).jobs.length === 4, 'j3..j5 to complete');
    expect(runs.filter((r) => r.on === 'B')).toEqual(ids.slice(3).map((id) => ({ id, attempt: 1, on: 'B' })));
    for (const id of ids.slice(3)) expect(await memory.get(id)).toMatchObject({ state: 'completed', attempt: 1 });
    expect((await memory.list({ state: 'dead' })).jobs.map((j) => j.id).sort()).toEqual([ids[0]!, ids[2]!].sort());
    await b.stop();
  });

  it('a job that crashes its process whenever it starts still runs out of attempts: one uncounted crash, not a loop', async () => {
    const clock = new FakeClock();
    const memory = new MemoryStorage({ clock });
    // The poison job (maxRetries 2) sits behind a job that starts at once, so every instance
    // starts it from its buffer, before any heartbeat could record that; three more jobs
    // (maxRetries 0) wait behind it in the buffer of every instance it kills.
    const [poison] = await memory.enqueue([job({ poison: true }, 3)]);
    const behind = (await memory.enqueue([job({}, 1, 1), job({}, 1, 1), job({}, 1, 1)])).map((r) => r.id);
    const runs = new Map<string, number[]>();
    let crashes = 0;
    for (let round = 1; round <= 12; round++) {
      const dead = await memory.get(poison!.id);
      if (dead!.state === 'dead') break;
      // A job ahead of it, retried for ever (a crash right after it may lose its completion).
      await memory.enqueue([job({ round }, null, -1)]);
      const proc = mortal(memory);
      let died = false;
      instance(proc.storage, clock, (payload, ctx) => {
        runs.set(ctx.id, [...(runs.get(ctx.id) ?? []), ctx.attempt]);
        if (!(payload as { poison?: boolean }).poison) return undefined;
        proc.die();
        died = true;
        crashes++;
        return hang;
      }, 1, 5);
      await until(clock, () => died, `round ${round}'s instance to start the poison job`);
      await clock.advance(LEASE * 2);
      await memory.rescue();
    }

    const p = await memory.get(poison!.id);
    expect(p).toMatchObject({ state: 'dead', attempt: 3, lastError: { name: 'LeaseExpired' }, rescuedUnstarted: true });
    // maxAttempts runs that count, and the first one, which no record of its start preceded.
    expect(crashes).toBe(4);
    expect(runs.get(poison!.id)).toEqual([1, 1, 2, 3]);
    // The jobs behind it were in every buffer it emptied, and never ran: they lost no attempt.
    for (const id of behind) {
      expect(runs.get(id)).toBeUndefined();
      expect(await memory.get(id)).toMatchObject({ state: 'available', attempt: 0 });
    }
    const survivor = instance(memory, clock, (_payload, ctx) => {
      runs.set(ctx.id, [...(runs.get(ctx.id) ?? []), ctx.attempt]);
    }, 1, 5);
    await until(clock, async () => {
      const states = await Promise.all(behind.map(async (id) => (await memory.get(id))!.state));
      return states.every((st) => st === 'completed');
    }, 'the jobs behind it to complete');
    for (const id of behind) expect(runs.get(id)).toEqual([1]);
    expect((await memory.list({ state: 'dead' })).jobs.map((j) => j.id)).toEqual([poison!.id]);
    await survivor.stop();
  });

  it('a job a crash returned unstarted runs from the buffer only once its start is recorded; a stop meanwhile hands it back', async () => {
    const clock = new FakeClock();
    const memory = new HeldBeats({ clock });
    const [x, z] = await returnedUnstarted(memory, clock, [job({ n: 'x' }, 1), job({ n: 'z' }, 1)]);
    // y is ahead of them, so they wait in the buffer behind it.
    const [y] = await memory.enqueue([job({ n: 'y' }, 1, -1)]);
    const release = deferred();
    const seen: Array<{ id: string; attempt: number; prefetched: boolean }> = [];
    memory.hold = deferred();
    const held = memory.hold;
    const engine = instance(memory, clock, async (_payload, ctx) => {
      seen.push({ id: ctx.id, attempt: ctx.attempt, prefetched: (await memory.get(ctx.id))!.prefetched });
      if (ctx.id === y!.id) await release.promise;
    }, 1, 4);
    await until(clock, () => seen.length === 1, 'y to start');
    expect((await memory.get(x!))!.prefetched).toBe(true);
    release.resolve();
    // x is next: its start is reported first (held here), and its handler waits for that.
    await until(clock, () => memory.reported.length === 1, "x's start to be reported");
    expect(memory.reported[0]).toEqual([x!]);
    await clock.advance(50);
    expect(seen.map((r) => r.id)).toEqual([y!.id]);
    held.resolve();
    await until(clock, () => seen.length === 3, 'x and z to run');
    // Each ran as its first attempt, with its start already on record.
    expect(seen.slice(1)).toEqual([{ id: x!, attempt: 1, prefetched: false }, { id: z!, attempt: 1, prefetched: false }]);
    await engine.stop();

    // A graceful stop while such a write is in flight: the job is handed back, unstarted, its attempt not counted.
    const [w] = await returnedUnstarted(memory, clock, [job({ n: 'w' }, 1)]);
    const [v] = await memory.enqueue([job({ n: 'v' }, 1, -1)]);
    memory.hold = deferred();
    const heldAgain = memory.hold;
    const release2 = deferred();
    const seen2: string[] = [];
    const second = instance(memory, clock, async (_payload, ctx) => {
      seen2.push(ctx.id);
      if (ctx.id === v!.id) await release2.promise;
    }, 1, 4);
    await until(clock, () => seen2.length === 1, 'v to start');
    release2.resolve();
    await until(clock, () => memory.reported.length === 3, "w's start to be reported");
    const stopped = second.stop();
    await clock.advance(10);
    heldAgain.resolve();
    await until(clock, async () => (await memory.get(w!))!.state !== 'running', 'w to be handed back');
    await stopped;
    expect(seen2).toEqual([v!.id]);
    expect(await memory.get(w!)).toMatchObject({ state: 'available', attempt: 0, prefetched: false, lockedBy: null });
  });
});
