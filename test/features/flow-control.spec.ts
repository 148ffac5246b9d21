import type { INestApplication } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Job, Processor, QueueService, RateLimitedError, type JobContext } from '../../lib/index.js';
import { featureKinds, openTarget, startInstance, until, type FeatureTarget } from '../support/feature-targets.js';

/** Handlers of every instance (one process): how many run at once, when each started. */
const seen = { active: 0, max: 0, starts: [] as number[], runs: [] as Array<{ id: string; attempt: number; at: number }> };
let refuseFirst = 0;

@Processor('limited')
class LimitedProcessor {
  @Job('work')
  async work(_p: unknown, ctx: JobContext) {
    seen.active++;
    seen.max = Math.max(seen.max, seen.active);
    seen.starts.push(Date.now());
    seen.runs.push({ id: ctx.id, attempt: ctx.attempt, at: Date.now() });
    try {
      if (refuseFirst > 0) {
        refuseFirst--;
        throw new RateLimitedError(400);
      }
      await new Promise((r) => setTimeout(r, 15));
    } finally {
      seen.active--;
    }
  }
}

/** The most starts in any span of `ms` (sliding over the recorded starts). */
function maxStartsWithin(starts: number[], ms: number): number {
  const sorted = [...starts].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

for (const kind of await featureKinds()) {
  describe(`flow control on one ${kind} database shared by several instances`, () => {
    let target: FeatureTarget;
    const apps: INestApplication[] = [];
    const instance = async (queue: Record<string, unknown>, logs: string[] = []) => {
      const logger = { log: (m: string) => logs.push(m), warn: (m: string) => logs.push(m), error: (m: string) => logs.push(m) };
      const app = await startInstance(target, [LimitedProcessor], { queues: { limited: queue }, logger });
      apps.push(app);
      return app.get(QueueService);
    };
    const enqueue = (q: QueueService, n: number) => q.enqueueMany(Array.from({ length: n }, () => ({ name: 'work', payload: {} })));
    const done = async (q: QueueService, n: number) =>
      until(async () => (await q.stats()).find((s) => s.queue === 'limited')?.completed.allTime === n, 30_000, `${n} jobs completed`);

    beforeEach(async () => {
      target = await openTarget(kind);
      Object.assign(seen, { active: 0, max: 0, starts: [], runs: [] });
      refuseFirst = 0;
    });
    afterEach(async () => {
      for (const app of apps.splice(0)) await app.close();
      await target.cleanup();
    });

    it('globalConcurrency: four instances of concurrency 20 never run more than 3 handlers at once', async () => {
      const qs = await Promise.all([1, 2, 3, 4].map(() => instance({ concurrency: 20, globalConcurrency: 3 })));
      await enqueue(qs[0]!, 60);
      await done(qs[0]!, 60);
      expect(seen.max).toBeLessThanOrEqual(3);
      expect(seen.max).toBeGreaterThanOrEqual(2);
    });

    it('rateLimit: no span of the interval holds more than `limit` starts across instances', async () => {
      const qs = await Promise.all([1, 2, 3].map(() => instance({ concurrency: 10, rateLimit: { limit: 5, intervalMs: 400 } })));
      await enqueue(qs[0]!, 25);
      await done(qs[0]!, 25);
      // A little slack for how long after its claim a handler starts.
      expect(maxStartsWithin(seen.starts, 300)).toBeLessThanOrEqual(5);
      expect(seen.starts.length).toBe(25);
    });

    // A queue with stored limits: every instance honours its block at once (a queue without
    // any learns of its first block within a second, see `LimitedQueues`).
    it('RateLimitedError: the job returns without counting an attempt and the queue starts nothing on any instance for retryAfterMs', async () => {
      const [a] = await Promise.all([instance({ concurrency: 5, globalConcurrency: 100 }), instance({ concurrency: 5, globalConcurrency: 100 })]);
      refuseFirst = 1;
      const { id } = (await a!.enqueueMany([{ name: 'work', payload: {} }]))[0]!;
      await until(() => seen.runs.length >= 1, 10_000, 'the first run');
      // The block is stored before the job is handed back.
      await until(async () => (await a!.getJob(id))!.state === 'available', 10_000, 'the hand-back');
      await enqueue(a!, 3);
      await done(a!, 4);
      const first = seen.runs[0]!;
      expect(first.id).toBe(id);
      const again = seen.runs.find((r, i) => i > 0 && r.id === id)!;
      expect(again.attempt).toBe(1);
      // Nothing started on either instance before the block ended (less the clocks' rounding).
      for (const r of seen.runs.slice(1)) expect(r.at - first.at).toBeGreaterThanOrEqual(350);
      expect((await a!.getJob(id))!.attempt).toBe(1);
    });

    it('configured limits are stored; an instance configured otherwise replaces them and logs it; stats() and getLimits show them', async () => {
      const a = await instance({ globalConcurrency: 4 });
      expect(await a.getLimits('limited')).toEqual({ globalConcurrency: 4 });
      const logs: string[] = [];
      await instance({ rateLimit: { limit: 9, intervalMs: 1000 } }, logs);
      expect(await a.getLimits('limited')).toEqual({ rateLimit: { limit: 9, intervalMs: 1000 } });
      expect(logs.some((m) => m.includes("queue 'limited'") && m.includes('globalConcurrency 4') && m.includes('rateLimit 9 per 1000 ms'))).toBe(true);
      await a.setLimits('limited', { globalConcurrency: 2 });
      expect(await a.getLimits('limited')).toEqual({ globalConcurrency: 2 });
      expect((await a.stats()).find((s) => s.queue === 'limited')?.limits).toEqual({ globalConcurrency: 2 });
      await expect(a.setLimits('limited', { globalConcurrency: 0 })).rejects.toThrow(/limits.globalConcurrency/);
      await expect(a.setLimits('limited', { rateLimit: { limit: 5 } } as never)).rejects.toThrow(/limits.rateLimit.intervalMs/);
      await expect(a.setLimits('limited', { concurrency: 5 } as never)).rejects.toThrow(/concurrency/);
    });
  });
}
