import type { INestApplication } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidOptionsError, Job, Processor, QueueService, RateLimitedError, type JobContext } from '../../lib/index.js';
import { featureKinds, openTarget, startInstance, until, type FeatureTarget } from '../support/feature-targets.js';

/** What handlers saw, in start order. */
const runs: Array<{ id: string; group: string | null; at: number }> = [];
let refuseGroup: string | null = null;

@Processor('tenants')
class TenantProcessor {
  @Job('import', { group: (p: { tenant: string }) => p.tenant })
  async import(_p: { tenant: string }, ctx: JobContext) {
    runs.push({ id: ctx.id, group: ctx.group, at: Date.now() });
    if (refuseGroup !== null && ctx.group === refuseGroup) {
      refuseGroup = null;
      throw new RateLimitedError(400);
    }
    await new Promise((r) => setTimeout(r, 2));
  }

  @Job('plain')
  plain(_p: unknown, ctx: JobContext) {
    runs.push({ id: ctx.id, group: ctx.group, at: Date.now() });
  }
}

for (const kind of await featureKinds()) {
  describe(`groups on one ${kind} database`, () => {
    let target: FeatureTarget;
    const apps: INestApplication[] = [];
    const instance = async (queue: Record<string, unknown>) => {
      const app = await startInstance(target, [TenantProcessor], { queues: { tenants: queue } });
      apps.push(app);
      return app.get(QueueService);
    };
    const imports = (tenant: string, n: number) => Array.from({ length: n }, () => ({ name: 'import', payload: { tenant } }));

    beforeEach(async () => {
      target = await openTarget(kind);
      runs.length = 0;
      refuseGroup = null;
    });
    afterEach(async () => {
      for (const app of apps.splice(0)) await app.close();
      await target.cleanup();
    });

    it('a job\'s group: from enqueue, from the @Job default (a function of the payload), in bulk; ctx.group and JobRecord.group', async () => {
      const q = await instance({ concurrency: 5 });
      const a = await q.enqueue('import', { tenant: 't-1' });
      const b = await q.enqueue('import', { tenant: 't-1' }, { group: 'override' });
      const c = await q.enqueue('plain', {});
      const [d] = await q.enqueueMany([{ name: 'plain', payload: {}, options: { group: 'bulk' } }]);
      await until(() => runs.length === 4, 10_000, 'four runs');
      const groupOf = (id: string) => runs.find((r) => r.id === id)!.group;
      expect([groupOf(a.id), groupOf(b.id), groupOf(c.id), groupOf(d!.id)]).toEqual(['t-1', 'override', null, 'bulk']);
      expect((await q.getJob(b.id))!.group).toBe('override');
      await expect(q.enqueue('plain', {}, { group: '' })).rejects.toThrow(InvalidOptionsError);
      await expect(q.enqueue('plain', {}, { group: 'x'.repeat(129) })).rejects.toThrow(/group/);
      await expect(q.enqueue('import', { tenant: 5 as never })).rejects.toThrow(/group of TenantProcessor.import/);
    });

    it('fairness: with groups.concurrency 2, a tenant with a large backlog does not hold back the others', { timeout: 120_000 }, async () => {
      const q = await instance({ concurrency: 10, groups: { concurrency: 2 } });
      // Enqueued before the others, so plain claim order would run all of it first.
      // JOBS_TEST_FAIRNESS_BACKLOG=100000 runs it at the size of the flow-control issue.
      const backlog = Number(process.env.JOBS_TEST_FAIRNESS_BACKLOG ?? (kind === 'memory' || kind === 'sqlite' || kind === 'postgres' ? 5_000 : 2_000));
      // Stored while the queue is paused, so that A's whole backlog waits when B and C arrive.
      await q.pause('tenants');
      for (let i = 0; i < backlog; i += 1000) await q.enqueueMany(imports('A', Math.min(1000, backlog - i)));
      await q.enqueueMany([...imports('B', 100), ...imports('C', 100)]);
      await q.resume('tenants');
      await until(() => runs.filter((r) => r.group !== 'A').length === 200, 100_000, 'B and C to start');
      const lastOther = runs.findLastIndex((r) => r.group !== 'A');
      // Three groups with work, two slots each: B's and C's jobs start among the first ~300.
      expect(lastOther).toBeLessThan(400);
      expect(runs.filter((r) => r.group === 'A').length).toBeLessThan(200);
    });

    it('RateLimitedError of a grouped job blocks its group only, on every instance', async () => {
      const [a] = await Promise.all([instance({ concurrency: 5, groups: { concurrency: 5 } }), instance({ concurrency: 5, groups: { concurrency: 5 } })]);
      refuseGroup = 'A';
      const first = await a!.enqueue('import', { tenant: 'A' });
      await until(() => runs.length >= 1, 10_000, 'the first run');
      const refusedAt = runs[0]!.at;
      // The block is stored before the job is handed back.
      await until(async () => (await a!.getJob(first.id))!.state === 'available', 10_000, 'the hand-back');
      await a!.enqueueMany([...imports('A', 2), ...imports('B', 3)]);
      await until(() => runs.length >= 7, 20_000, 'every job');
      const later = runs.slice(1);
      // B went on at once; A waited for its block (less the clocks' rounding).
      expect(later.filter((r) => r.group === 'B').every((r) => r.at - refusedAt < 350)).toBe(true);
      expect(later.filter((r) => r.group === 'A').every((r) => r.at - refusedAt >= 350)).toBe(true);
      expect((await a!.getJob(first.id))!.attempt).toBe(1);
    });
  });
}
