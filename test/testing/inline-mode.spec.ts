import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Job, JobTimeoutError, Processor, QueueService, type StorageConfig } from '../../lib/index.js';
import { JobsTester, JobsTestingModule } from '../../lib/testing/index.js';
import { freshSqliteFile } from '../support/databases.js';
import { Child, Doomed, Flaky, Greet, Outbox, Parent, PROVIDERS, SmtpError } from './fixtures.js';

@Processor('slow')
class SlowProcessor {
  @Job('never-settles', { timeout: 1000, maxRetries: 0 })
  wait(_payload: unknown, ctx: { signal: AbortSignal }): Promise<void> {
    return new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)));
  }
}

describe('JobsTestingModule, inline mode, on memory storage', () => {
  let app: TestingModule;
  let queue: QueueService;
  let tester: JobsTester;
  let outbox: Outbox;

  beforeEach(async () => {
    app = await Test.createTestingModule({ imports: [JobsTestingModule.forRoot({ mode: 'inline' })], providers: [...PROVIDERS, SlowProcessor] }).compile();
    await app.init();
    queue = app.get(QueueService);
    tester = app.get(JobsTester);
    outbox = app.get(Outbox);
  });

  afterEach(() => app.close());

  it('enqueue resolves once the job has completed', async () => {
    const { id } = await queue.enqueue(Greet, { name: 'ada' });
    expect(outbox.greeted).toEqual(['ada']);
    expect(await queue.getJob(id)).toMatchObject({ state: 'completed', result: { greeted: 'ada', attempt: 1 } });
    expect(await tester.enqueued()).toEqual([]);
  });

  it('retries by the job’s policy on the fake clock before enqueue resolves', async () => {
    const start = tester.clock.now();
    await queue.enqueue(Flaky, { failures: 2 });
    expect(outbox.attempts).toEqual([1, 2, 3]);
    // Backoff.fixed(60 s) twice, on the fake clock.
    expect(tester.clock.now() - start).toBe(120_000);
  });

  it('a job that ends dead rejects the enqueue with its final error', async () => {
    const err = await queue.enqueue(Doomed, { why: 'mailbox full' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SmtpError);
    expect((err as Error).message).toBe('mailbox full');
    const [dead] = (await queue.list({ state: 'dead' })).jobs;
    expect(dead).toMatchObject({ name: 'doomed', attempt: 3 });
  });

  it('a job that times out ends dead: the enqueue rejects with its timeout', async () => {
    // The handler rejects with its signal's reason, the JobTimeoutError, once the fake clock passes 1 s.
    const pending = queue.enqueue('never-settles', {});
    const settled = pending.catch((e: unknown) => e);
    await tester.advance(1000);
    expect(await settled).toBeInstanceOf(JobTimeoutError);
  });

  it('jobs enqueued by a job run inline too, inside it', async () => {
    await queue.enqueue(Parent, { children: 2 });
    expect(outbox.children).toEqual([1, 2]);
  });

  it('enqueueMany runs every job; a duplicate does not run again', async () => {
    await queue.enqueueMany([
      { name: Greet, payload: { name: 'a' } },
      { name: Child, payload: { n: 7 } },
    ]);
    expect(outbox.greeted).toEqual(['a']);
    expect(outbox.children).toEqual([7]);
    // A job that ends dead rejects the call, after the jobs behind it have run.
    await expect(
      queue.enqueueMany([
        { name: Doomed, payload: { why: 'first dies' } },
        { name: Greet, payload: { name: 'b' } },
      ]),
    ).rejects.toThrow('first dies');
    expect(outbox.greeted).toEqual(['a', 'b']);
    // A dead job holds its key with `until-complete`: the second enqueue is a duplicate and does not run.
    await expect(queue.enqueue(Doomed, { why: 'x' }, { uniqueKey: 'k', unique: { while: 'until-complete' } })).rejects.toThrow('x');
    const again = await queue.enqueue(Doomed, { why: 'x' }, { uniqueKey: 'k', unique: { while: 'until-complete' } });
    expect(again.duplicate).toBe(true);
    expect((await queue.list({ state: 'dead' })).jobs.filter((j) => j.uniqueKey === 'k')).toHaveLength(1);
  });
});

describe('JobsTestingModule, inline mode, on SQLite', () => {
  it('runs a job to completion inside enqueue', async () => {
    const { file, remove } = freshSqliteFile();
    const storage: StorageConfig = { type: 'sqlite', database: file };
    const app = await Test.createTestingModule({ imports: [JobsTestingModule.forRoot({ mode: 'inline', storage })], providers: PROVIDERS }).compile();
    await app.init();
    try {
      const { id } = await app.get(QueueService).enqueue(Greet, { name: 'ada' });
      expect(app.get(Outbox).greeted).toEqual(['ada']);
      expect((await app.get(QueueService).getJob(id))?.state).toBe('completed');
    } finally {
      await app.close();
      await remove();
    }
  });
});
