import type { INestApplication } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidOptionsError,
  Job,
  MaxRetries,
  Processor,
  QueueService,
  type BatchCallbackPayload,
  type ChildOutcome,
  type FlowNode,
  type JobContext,
} from '../../lib/index.js';
import { featureKinds, openTarget, startInstance, until, type FeatureTarget } from '../support/feature-targets.js';

/** Handler runs, in the order they started, and what each parent saw of its children. */
const runs: string[] = [];
const seen = new Map<string, ChildOutcome[]>();
const reports: Array<{ name: string; payload: BatchCallbackPayload<{ import: string }> }> = [];
/** Images that fail to resize for now (besides 'broken', which always does). */
const unreadable = new Set<string>();

@Processor({ queue: 'flows', maxRetries: MaxRetries.count(0) })
class FlowProcessor {
  @Job('resize')
  resize(payload: { image: string }) {
    runs.push(`resize:${payload.image}`);
    if (payload.image === 'broken' || unreadable.has(payload.image)) throw new Error(`cannot read ${payload.image}`);
    return { thumb: `${payload.image}.small` };
  }

  @Job('report')
  report(payload: BatchCallbackPayload<{ import: string }>, ctx: JobContext) {
    reports.push({ name: ctx.name, payload });
  }

  @Job('album')
  async album(payload: { name: string }, ctx: JobContext) {
    runs.push(`album:${payload.name}`);
    seen.set(payload.name, await ctx.children());
    return 'built';
  }
}

const resize = (image: string): FlowNode => ({ job: 'resize', payload: { image } });

for (const kind of await featureKinds()) {
  describe(`flows through QueueService: ${kind}`, () => {
    let target: FeatureTarget;
    let app: INestApplication;
    let queue: QueueService;

    beforeEach(async () => {
      runs.length = 0;
      seen.clear();
      reports.length = 0;
      unreadable.clear();
      target = await openTarget(kind);
      app = await startInstance(target, [FlowProcessor]);
      queue = app.get(QueueService);
    });
    afterEach(async () => {
      await app.close();
      await target.cleanup();
    });

    it('the parent runs once, after all its children, and reads their results with ctx.children()', async () => {
      const ids = await queue.flow({ job: 'album', payload: { name: 'summer' }, children: [resize('a'), resize('b'), resize('c')] });
      expect(ids.children).toHaveLength(3);
      await until(async () => (await queue.getJob(ids.id))!.state === 'completed', 15_000, 'the album to complete');
      expect(runs.filter((r) => r.startsWith('album'))).toEqual(['album:summer']);
      expect(runs.indexOf('album:summer')).toBe(3);
      const kids = seen.get('summer')!;
      expect(kids.map((k) => [k.id, k.state, k.result])).toEqual([
        [ids.children[0]!.id, 'completed', { thumb: 'a.small' }],
        [ids.children[1]!.id, 'completed', { thumb: 'b.small' }],
        [ids.children[2]!.id, 'completed', { thumb: 'c.small' }],
      ]);
      const flow = (await queue.getFlow(ids.id))!;
      expect(flow.job.state).toBe('completed');
      expect(flow.children.map((c) => c.job.parentId)).toEqual([ids.id, ids.id, ids.id]);
    });

    it("'continue' hands the failure to the parent; 'fail' ends it dead without running it", async () => {
      const cont = await queue.flow({ job: 'album', payload: { name: 'partial' }, onChildFailure: 'continue', children: [resize('ok'), resize('broken')] });
      const fail = await queue.flow({ job: 'album', payload: { name: 'strict' }, children: [resize('broken')] });
      await until(async () => (await queue.getJob(cont.id))!.state === 'completed', 15_000, 'the partial album to complete');
      await until(async () => (await queue.getJob(fail.id))!.state === 'dead', 15_000, 'the strict album to die');
      expect(seen.get('partial')!.map((k) => k.state)).toEqual(['completed', 'dead']);
      expect(seen.get('partial')![1]!.error!.message).toContain('cannot read broken');
      expect(seen.has('strict')).toBe(false);
      expect((await queue.getJob(fail.id))!.lastError!.message).toContain(`child job ${fail.children[0]!.id}`);
    });

    it('retry of a parent that died with a failed child runs the child again, then the parent; retryAll does the same', async () => {
      unreadable.add('flaky');
      const ids = await queue.flow({ job: 'album', payload: { name: 'again' }, children: [resize('ok'), resize('flaky')] });
      await until(async () => (await queue.getJob(ids.id))!.state === 'dead', 15_000, 'the album to die with its child');
      unreadable.delete('flaky');
      expect((await queue.retry(ids.id)).state).toBe('waiting');
      await until(async () => (await queue.getJob(ids.id))!.state === 'completed', 15_000, 'the album to complete');
      expect(seen.get('again')!.map((k) => k.state)).toEqual(['completed', 'completed']);
      expect(runs.filter((r) => r === 'resize:ok')).toHaveLength(1);

      unreadable.add('flaky2');
      const two = await queue.flow({ job: 'album', payload: { name: 'all' }, children: [resize('flaky2')] });
      await until(async () => (await queue.getJob(two.id))!.state === 'dead', 15_000, 'the second album to die');
      unreadable.delete('flaky2');
      expect(await queue.retryAll({ queue: 'flows' })).toBe(2);
      await until(async () => (await queue.getJob(two.id))!.state === 'completed', 15_000, 'the second album to complete');
      expect(runs.filter((r) => r === 'album:all')).toHaveLength(1);
    });

    it('cancel of a waiting parent cancels its pending descendants', async () => {
      await app.close();
      app = await startInstance(target, [FlowProcessor], { workers: false });
      queue = app.get(QueueService);
      const ids = await queue.flow({ job: 'album', payload: { name: 'x' }, children: [{ job: 'album', payload: { name: 'y' }, children: [resize('d')] }] });
      expect((await queue.cancel(ids.id)).state).toBe('cancelled');
      const flow = (await queue.getFlow(ids.id))!;
      expect([flow.children[0]!.job.state, flow.children[0]!.children[0]!.job.state]).toEqual(['cancelled', 'cancelled']);
    });

    it('batch: callbacks run once each with the batch payload and counts', async () => {
      const { batchId, ids } = await queue.batch(
        [{ name: 'resize', payload: { image: 'a' } }, { name: 'resize', payload: { image: 'broken' } }, { name: 'resize', payload: { image: 'c' } }],
        { onComplete: 'report', onSuccess: 'report', onFailure: 'report', payload: { import: 'june' } },
      );
      expect(ids).toHaveLength(3);
      expect((await queue.getJob(ids[0]!))!.batchId).toBe(batchId);
      await until(() => reports.length >= 2, 15_000, 'the failure and completion callbacks');
      await until(async () => (await queue.getBatch(batchId))!.fired.complete, 15_000, 'the batch to complete');
      const info = (await queue.getBatch(batchId))!;
      expect(info.counts).toEqual({ total: 3, completed: 2, dead: 1, cancelled: 0 });
      expect(info.fired).toEqual({ complete: true, success: false, failure: true });
      await until(() => reports.length === 2, 5_000, 'exactly two callbacks');
      const complete = reports.find((r) => r.payload.counts.completed + r.payload.counts.dead === 3)!;
      expect(complete.payload).toEqual({ batchId, payload: { import: 'june' }, counts: { total: 3, completed: 2, dead: 1, cancelled: 0 } });
      await expect(queue.batch([], {})).rejects.toThrow(/at least one job/);
      await expect(queue.batch([{ name: 'resize', payload: {} }], { onDone: 'report' } as never)).rejects.toBeInstanceOf(InvalidOptionsError);
    });

    it('refuses bad flows with clear errors before storing anything', async () => {
      const deep = (n: number): FlowNode => (n === 1 ? resize('leaf') : { job: 'album', payload: { name: `d${n}` }, children: [deep(n - 1)] });
      await expect(queue.flow(deep(33))).rejects.toThrow(/at most 32 levels deep/);
      await expect(queue.flow({ job: 'album', payload: {}, onChildFailure: 'explode' as 'fail' })).rejects.toThrow(/onChildFailure/);
      await expect(queue.flow({ job: 'album', payload: {}, children: [{ job: 'resize', payload: {}, options: { uniqueKey: 'k' } as never }] })).rejects.toBeInstanceOf(InvalidOptionsError);
      const shared = resize('same');
      await expect(queue.flow({ job: 'album', payload: {}, children: [shared, shared] })).rejects.toThrow(/appears twice/);
      const wide: FlowNode = { job: 'album', payload: {}, children: Array.from({ length: 10_000 }, (_, i) => resize(String(i))) };
      await expect(queue.flow(wide)).rejects.toThrow(/at most 10000 jobs/);
      expect((await queue.list({ limit: 5 })).jobs).toEqual([]);
    });
  });
}
