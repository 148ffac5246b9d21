import type { INestApplication } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Job, MaxRetries, Processor, QueueService, type JobContext, type JobEvent } from '../../lib/index.js';
import { deferred } from '../fixtures/deferred.js';
import { sleep } from '../support/databases.js';
import { featureKinds, openTarget, startInstance, until, type FeatureTarget } from '../support/feature-targets.js';

let gate = deferred();
let started = deferred<JobContext>();

@Processor({ queue: 'uq', maxRetries: MaxRetries.count(0) })
class UniqueProcessor {
  @Job('echo')
  echo(payload: { v: number }) {
    return { v: payload.v };
  }

  @Job('hold')
  async hold(payload: { fail?: boolean }, ctx: JobContext) {
    started.resolve(ctx);
    await gate.promise;
    if (payload.fail) throw new Error('held and failed');
    return 'held';
  }

  @Job('steps')
  async steps(_p: unknown, ctx: JobContext) {
    await ctx.progress(40, { step: 'half' });
    started.resolve(ctx);
    await gate.promise;
    await ctx.progress(100, { step: 'done' });
    return { rows: 3, label: 'ünïcode ✓' };
  }
}

for (const kind of await featureKinds()) {
  describe(`unique jobs, progress and results: ${kind}`, () => {
    let target: FeatureTarget;
    const apps: INestApplication[] = [];
    const instance = async (workers = true) => {
      const app = await startInstance(target, [UniqueProcessor], { workers });
      apps.push(app);
      return app.get(QueueService);
    };

    beforeEach(async () => {
      target = await openTarget(kind);
    });
    afterEach(async () => {
      gate.resolve();
      for (const app of apps.splice(0)) await app.close();
      await target.cleanup();
      gate = deferred();
      started = deferred();
    });

    it('a duplicate returns the existing id with duplicate: true, from any instance; past its ttlMs a holder gives the key up', async () => {
      const a = await instance(false);
      const b = await instance(false);
      const first = await a.enqueue('echo', { v: 1 }, { uniqueKey: 'u-1' });
      expect(first.duplicate).toBe(false);
      expect(await b.enqueue('echo', { v: 2 }, { uniqueKey: 'u-1' })).toEqual({ id: first.id, duplicate: true });
      // A holder without a window holds its key while it waits, whatever window the next asks for.
      expect(await a.enqueue('echo', { v: 3 }, { uniqueKey: 'u-1', unique: { ttlMs: 1 } })).toEqual({ id: first.id, duplicate: true });
      const windowed = await a.enqueue('echo', { v: 4 }, { uniqueKey: 'u-2', unique: { ttlMs: 300 } });
      expect(await b.enqueue('echo', { v: 5 }, { uniqueKey: 'u-2', unique: { ttlMs: 300 } })).toEqual({ id: windowed.id, duplicate: true });
      await sleep(350);
      const next = await b.enqueue('echo', { v: 6 }, { uniqueKey: 'u-2', unique: { ttlMs: 300 } });
      expect(next.duplicate).toBe(false);
      expect(next.id).not.toBe(windowed.id);
      await expect(a.enqueue('echo', {}, { unique: { while: 'queued' } })).rejects.toThrow(/uniqueKey/);
      await expect(a.enqueue('echo', {}, { uniqueKey: 'k', unique: { while: 'forever' as never } })).rejects.toThrow(/unique.while/);
    });

    it("while: 'queued' frees the key once the job starts; 'running' (default) only once it ends", async () => {
      const producer = await instance(false);
      const q = await producer.enqueue('hold', {}, { uniqueKey: 'q-key', unique: { while: 'queued' } });
      const r = await producer.enqueue('hold', {}, { uniqueKey: 'r-key', queue: 'uq2' });
      await instance();
      await started.promise;
      expect((await producer.getJob(q.id))!.state).toBe('running');
      expect((await producer.enqueue('hold', {}, { uniqueKey: 'q-key', unique: { while: 'queued' } })).duplicate).toBe(false);
      expect(await producer.enqueue('hold', {}, { uniqueKey: 'r-key', queue: 'uq2' })).toEqual({ id: r.id, duplicate: true });
      gate.resolve();
      await producer.waitFor(q.id, { timeoutMs: 5_000 });
    });

    it("while: 'until-complete' keeps the key while the job is dead", async () => {
      const producer = await instance(false);
      const key = { uniqueKey: 'uc', unique: { while: 'until-complete' as const } };
      const dead = await producer.enqueue('hold', { fail: true }, key);
      gate.resolve();
      await instance();
      await expect(producer.waitFor(dead.id, { timeoutMs: 5_000 })).rejects.toThrow(/held and failed/);
      expect(await producer.enqueue('hold', {}, key)).toEqual({ id: dead.id, duplicate: true });
      await producer.cancel(dead.id).catch(() => undefined);
      const running = await producer.enqueue('hold', {}, { uniqueKey: 'plain' });
      await producer.waitFor(running.id, { timeoutMs: 5_000 });
      expect((await producer.enqueue('hold', {}, { uniqueKey: 'plain' })).duplicate).toBe(false);
    });

    it('progress is persisted while the job runs and emitted; the result is stored on the job', async () => {
      const worker = await instance();
      const other = await instance(false);
      const seen: JobEvent[] = [];
      worker.events$.subscribe((e) => e.type === 'progress' && seen.push(e));
      const { id } = await other.enqueue('steps', {});
      await started.promise;
      // Read through the other instance: what is stored, not what this process remembers.
      await until(async () => (await other.getJob(id))?.progress === 40, 3_000, 'progress 40 to be stored');
      expect(await other.getJob(id)).toMatchObject({ state: 'running', attempt: 1, progress: 40, progressData: { step: 'half' } });
      gate.resolve();
      await expect(other.waitFor(id, { timeoutMs: 5_000 })).resolves.toEqual({ rows: 3, label: 'ünïcode ✓' });
      expect(seen.map((e) => e.progress)).toEqual([40, 100]);
      const job = (await other.getJob(id))!;
      expect(job).toMatchObject({ state: 'completed', attempt: 1, progress: 100, progressData: { step: 'done' }, result: { rows: 3, label: 'ünïcode ✓' }, lastError: null });
      expect(job.completedAt!.getTime()).toBeGreaterThanOrEqual(job.startedAt!.getTime());
      expect(job.startedAt!.getTime()).toBeGreaterThanOrEqual(job.createdAt.getTime());
    });
  });
}
