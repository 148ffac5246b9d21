import { AsyncLocalStorage } from 'node:async_hooks';
import type { INestApplication } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Job, JobMiddlewareError, Processor, QueueService, type JobContext, type JobMiddleware } from '../../lib/index.js';
import { featureKinds, openTarget, startInstance, type FeatureTarget } from '../support/feature-targets.js';

/** The request context an app carries into its jobs. */
const requestContext = new AsyncLocalStorage<{ requestId: string }>();

/** Copies the request id into the job's headers at enqueue, and back into the context around the handler. */
const requestIdMiddleware: JobMiddleware = {
  name: 'RequestId',
  async enqueue(job, next) {
    if ((job.payload as { refuse?: boolean } | null)?.refuse) throw new Error('refused by policy');
    const store = requestContext.getStore();
    if (store) job.headers['x-request-id'] = store.requestId;
    await next();
  },
  process(job, _ctx, next) {
    const requestId = job.headers['x-request-id'];
    return requestId ? requestContext.run({ requestId }, next) : next();
  },
};

const seen: Array<{ headers: Record<string, string>; requestId: string | undefined }> = [];

@Processor('mw')
class HeadersProcessor {
  @Job('echo')
  async echo(_payload: unknown, ctx: JobContext) {
    await Promise.resolve();
    seen.push({ headers: { ...ctx.headers }, requestId: requestContext.getStore()?.requestId });
    return 'ok';
  }
}

for (const kind of await featureKinds()) {
  describe(`middleware and headers: ${kind}`, () => {
    let target: FeatureTarget;
    let app: INestApplication;
    let queue: QueueService;
    let ds: DataSource | null;

    beforeEach(async () => {
      target = await openTarget(kind);
      seen.length = 0;
      // On a database, the app's own DataSource: the transactional enqueue below joins its transactions.
      ds = kind === 'memory' ? null : await target.dataSource();
      const storage = ds ? { storage: { dataSource: ds } } : {};
      app = await startInstance(target, [HeadersProcessor], { middleware: [requestIdMiddleware], ...storage });
      queue = app.get(QueueService);
    });
    afterEach(async () => {
      await app.close();
      await target.cleanup();
    });

    it('headers given at enqueue and set by middleware are stored, returned by getJob and list, and read by the handler', async () => {
      const { id } = await requestContext.run({ requestId: 'req-42' }, () =>
        queue.enqueue('echo', {}, { headers: { 'x-tenant': 'acmé' } }),
      );
      expect(await queue.waitFor(id, { timeoutMs: 10_000 })).toBe('ok');
      expect(seen).toEqual([{ headers: { 'x-tenant': 'acmé', 'x-request-id': 'req-42' }, requestId: 'req-42' }]);
      expect((await queue.getJob(id))!.headers).toEqual({ 'x-tenant': 'acmé', 'x-request-id': 'req-42' });
      const { jobs } = await queue.list({ queue: 'mw' });
      expect(jobs.map((j) => j.headers)).toEqual([{ 'x-tenant': 'acmé', 'x-request-id': 'req-42' }]);
    });

    it('enqueueMany runs the middleware for every job; a job without headers has {}', async () => {
      const results = await requestContext.run({ requestId: 'bulk-1' }, () =>
        queue.enqueueMany([
          { name: 'echo', payload: { i: 1 } },
          { name: 'echo', payload: { i: 2 }, options: { headers: { k: 'v' } } },
        ]),
      );
      const plain = await queue.enqueue('echo', { i: 3 });
      await Promise.all([...results, plain].map((r) => queue.waitFor(r.id, { timeoutMs: 10_000 })));
      expect((await queue.getJob(results[0]!.id))!.headers).toEqual({ 'x-request-id': 'bulk-1' });
      expect((await queue.getJob(results[1]!.id))!.headers).toEqual({ k: 'v', 'x-request-id': 'bulk-1' });
      expect((await queue.getJob(plain.id))!.headers).toEqual({});
    });

    it("a middleware's throw fails the enqueue, naming it, with nothing stored (one job, a batch, a caller's transaction)", async () => {
      const one = queue.enqueue('echo', { refuse: true });
      await expect(one).rejects.toThrow(JobMiddlewareError);
      await expect(one).rejects.toThrow("Job middleware 'RequestId' failed in enqueue(): refused by policy");
      const many = queue.enqueueMany([
        { name: 'echo', payload: { i: 1 } },
        { name: 'echo', payload: { refuse: true } },
        { name: 'echo', payload: { i: 3 } },
      ]);
      await expect(many).rejects.toThrow("Job middleware 'RequestId' failed in enqueue(): refused by policy");
      if (ds) {
        await expect(ds.transaction((manager) => queue.enqueue('echo', { refuse: true }, { manager }))).rejects.toThrow(JobMiddlewareError);
        const { id } = await ds.transaction((manager) => requestContext.run({ requestId: 'tx' }, () => queue.enqueue('echo', {}, { manager })));
        await queue.waitFor(id, { timeoutMs: 10_000 });
        expect((await queue.getJob(id))!.headers).toEqual({ 'x-request-id': 'tx' });
      }
      const { jobs } = await queue.list({ queue: 'mw' });
      expect(jobs.every((j) => !(j.payload as { refuse?: boolean })?.refuse)).toBe(true);
      expect(jobs).toHaveLength(kind === 'memory' ? 0 : 1);
      expect((await queue.stats()).find((s) => s.queue === 'mw')?.available ?? 0).toBe(0);
    });
  });
}
