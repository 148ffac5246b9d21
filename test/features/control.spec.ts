import { Test } from '@nestjs/testing';
import type { INestApplication } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Job,
  JobCancelledError,
  JobFailedError,
  JobsModule,
  MaxRetries,
  MemoryStorage,
  Processor,
  QueueService,
  WaitTimeoutError,
  type JobContext,
  type JobEvent,
} from '../../lib/index.js';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

let gate = deferred();
let started = deferred<JobContext>();

@Processor({ queue: 'ctl', maxRetries: MaxRetries.count(0) })
class ControlProcessor {
  @Job('echo')
  echo(payload: { v: number }) {
    return { doubled: payload.v * 2 };
  }

  @Job('boom')
  boom() {
    throw new Error('kaput');
  }

  @Job('block')
  async block(_p: unknown, ctx: JobContext) {
    started.resolve(ctx);
    await new Promise<void>((resolve, reject) => {
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
      void gate.promise.then(resolve);
    });
    return 'unblocked';
  }

  @Job('steps')
  async steps(_p: unknown, ctx: JobContext) {
    await ctx.progress(10, { step: 'a' });
    await ctx.progress(100, { step: 'done' });
  }
}

async function instance(storage: MemoryStorage, workers = true): Promise<INestApplication> {
  const mod = await Test.createTestingModule({
    imports: [
      JobsModule.forRoot({
        storage: { instance: storage },
        workers,
        pollIntervalMs: 20,
        leaseMs: 300,
        heartbeatIntervalMs: 20,
        logger: false,
      }),
    ],
    providers: [ControlProcessor],
  }).compile();
  const app = mod.createNestApplication();
  await app.init();
  return app;
}

describe('control of queues and jobs', () => {
  const apps: INestApplication[] = [];
  afterEach(async () => {
    gate.resolve();
    for (const app of apps.splice(0)) await app.close();
    gate = deferred();
    started = deferred();
  });

  it('waitFor resolves with the result from another instance, rejects when the job dies', async () => {
    const storage = new MemoryStorage();
    const producer = await instance(storage, false);
    apps.push(producer);
    const queue = producer.get(QueueService);
    const { id } = await queue.enqueue('echo', { v: 21 });
    const bad = await queue.enqueue('boom', {});
    apps.push(await instance(storage)); // the worker runs elsewhere
    await expect(queue.waitFor(id, { timeoutMs: 5_000 })).resolves.toEqual({ doubled: 42 });
    const err = await queue.waitFor(bad.id, { timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobFailedError);
    expect((err as JobFailedError).message).toMatch(/dead: Error: kaput/);
  });

  it('waitFor times out with WaitTimeoutError and leaves the job alone', async () => {
    const app = await instance(new MemoryStorage(), false);
    apps.push(app);
    const queue = app.get(QueueService);
    const { id } = await queue.enqueue('echo', { v: 1 });
    await expect(queue.waitFor(id, { timeoutMs: 30 })).rejects.toBeInstanceOf(WaitTimeoutError);
    expect((await queue.getJob(id))!.state).toBe('available');
  });

  it('cancel of a running job on another instance aborts its signal and ends it cancelled', async () => {
    const storage = new MemoryStorage();
    const worker = await instance(storage);
    const other = await instance(storage, false);
    apps.push(worker, other);
    const events: JobEvent[] = [];
    worker.get(QueueService).events$.subscribe((e) => events.push(e));
    const { id } = await other.get(QueueService).enqueue('block', {});
    const ctx = await started.promise;
    await other.get(QueueService).cancel(id);
    await expect(other.get(QueueService).waitFor(id, { timeoutMs: 5_000 })).rejects.toThrow(/cancelled/);
    expect(ctx.signal.aborted).toBe(true);
    expect(ctx.signal.reason).toBeInstanceOf(JobCancelledError);
    expect(events.map((e) => e.type)).toContain('cancelled');
  });

  it('pause stops claiming from the queue; resume picks up', async () => {
    const storage = new MemoryStorage();
    const app = await instance(storage);
    apps.push(app);
    const queue = app.get(QueueService);
    await queue.pause('ctl');
    const { id } = await queue.enqueue('echo', { v: 1 });
    await new Promise((r) => setTimeout(r, 100)); // several poll intervals
    expect((await queue.getJob(id))!.state).toBe('available');
    expect((await queue.stats()).find((s) => s.queue === 'ctl')!.paused).toBe(true);
    await queue.resume('ctl');
    await expect(queue.waitFor(id, { timeoutMs: 5_000 })).resolves.toEqual({ doubled: 2 });
  });

  it('retryAll brings back every dead job of a queue; list pages by cursor; prune keeps stats', async () => {
    const storage = new MemoryStorage();
    const app = await instance(storage);
    apps.push(app);
    const queue = app.get(QueueService);
    for (let i = 0; i < 3; i++) await queue.enqueue('boom', { i });
    await queue.onIdle('ctl');
    expect((await queue.list({ queue: 'ctl', state: 'dead' })).jobs).toHaveLength(3);
    const page1 = await queue.list({ queue: 'ctl', limit: 2 });
    const page2 = await queue.list({ queue: 'ctl', limit: 2, cursor: page1.nextCursor });
    expect(page1.jobs).toHaveLength(2);
    expect(page2.jobs).toHaveLength(1);
    expect(page2.nextCursor).toBeNull();
    await queue.pause('ctl');
    expect(await queue.retryAll({ queue: 'ctl' })).toBe(3);
    expect((await queue.stats()).find((s) => s.queue === 'ctl')).toMatchObject({ available: 3, dead: 0 });
    await queue.resume('ctl');
    await queue.onIdle('ctl');
    await queue.enqueue('echo', { v: 1 });
    await queue.onIdle('ctl');
    const before = (await queue.stats()).find((s) => s.queue === 'ctl')!;
    expect(before.completed.allTime).toBe(1);
    expect(before.died.allTime).toBe(6);
    expect(await queue.prune({ olderThan: new Date(Date.now() + 1000) })).toBe(4);
    const after = (await queue.stats()).find((s) => s.queue === 'ctl')!;
    expect(after.dead).toBe(0);
    expect(after.completed.allTime).toBe(1);
    expect(after.died.allTime).toBe(6);
    await expect(queue.prune({ olderThan: new Date(), states: ['running'] })).rejects.toThrow(/finished/);
    await expect(queue.list({ cursor: 'x; DROP TABLE' })).rejects.toThrow(/cursor/);
  });

  it('unique jobs: a duplicate returns the existing id with duplicate: true', async () => {
    const app = await instance(new MemoryStorage(), false);
    apps.push(app);
    const queue = app.get(QueueService);
    const a = await queue.enqueue('echo', { v: 1 }, { uniqueKey: 'u-1' });
    const b = await queue.enqueue('echo', { v: 2 }, { uniqueKey: 'u-1' });
    expect(a.duplicate).toBe(false);
    expect(b).toEqual({ id: a.id, duplicate: true });
    const c = await queue.enqueue('echo', { v: 3 }, { uniqueKey: 'u-1', unique: { ttlMs: 1 } });
    expect(c.duplicate).toBe(false);
    await expect(queue.enqueue('echo', {}, { unique: { while: 'queued' } })).rejects.toThrow(/uniqueKey/);
    await expect(queue.enqueue('echo', {}, { uniqueKey: 'k', unique: { while: 'forever' as never } })).rejects.toThrow(/unique.while/);
  });

  it('progress is stored and emitted; the result is on the job', async () => {
    const app = await instance(new MemoryStorage());
    apps.push(app);
    const queue = app.get(QueueService);
    const seen: JobEvent[] = [];
    queue.events$.subscribe((e) => e.type === 'progress' && seen.push(e));
    const { id } = await queue.enqueue('steps', {});
    await queue.waitFor(id, { timeoutMs: 5_000 });
    expect(seen.map((e) => e.progress)).toEqual([10, 100]);
    expect(await queue.getJob(id)).toMatchObject({ state: 'completed', progress: 100, progressData: { step: 'done' } });
  });
});
