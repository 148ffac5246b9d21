import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock, InvalidPayloadError, QueueService, UnknownJobError, type StorageConfig } from '../../lib/index.js';
import { JobsAssertionError, JobsTester, JobsTestingModule } from '../../lib/testing/index.js';
import { freshSqliteFile } from '../support/databases.js';
import { Child, Doomed, Flaky, Greet, Outbox, Parent, PROVIDERS, Report, SmtpError } from './fixtures.js';

const kinds: Array<{ kind: string; storage: () => { config: StorageConfig | undefined; remove(): Promise<void> } }> = [
  { kind: 'memory', storage: () => ({ config: undefined, remove: async () => undefined }) },
  {
    kind: 'sqlite',
    storage: () => {
      const { file, remove } = freshSqliteFile();
      return { config: { type: 'sqlite', database: file }, remove };
    },
  },
];

describe.each(kinds)('JobsTestingModule, manual mode, on $kind storage', ({ kind, storage }) => {
  let app: TestingModule;
  let queue: QueueService;
  let tester: JobsTester;
  let outbox: Outbox;
  let remove: () => Promise<void>;

  beforeEach(async () => {
    const s = storage();
    remove = s.remove;
    app = await Test.createTestingModule({
      imports: [JobsTestingModule.forRoot(s.config ? { storage: s.config } : {})],
      providers: PROVIDERS,
    }).compile();
    await app.init();
    queue = app.get(QueueService);
    tester = app.get(JobsTester);
    outbox = app.get(Outbox);
  });

  afterEach(async () => {
    await app.close();
    await remove();
  });

  it('stores enqueued jobs and runs none until drained', async () => {
    await queue.enqueue(Greet, { name: 'ada' });
    await tester.clock.advance(60_000);
    expect(outbox.greeted).toEqual([]);
    const [job] = await tester.expectEnqueued(Greet, { name: 'ada' });
    expect(job).toMatchObject({ name: 'greet', queue: 'mail', state: 'available', payload: { name: 'ada' } });

    expect(await tester.drain()).toEqual({ completed: 1, retried: 0, dead: 0, cancelled: 0 });
    expect(outbox.greeted).toEqual(['ada']);
    expect(await tester.enqueued()).toEqual([]);
    expect((await queue.getJob(job!.id))?.state).toBe('completed');
  });

  it('enqueued(): by token or name, deep partial match on the payload, newest last', async () => {
    await queue.enqueue(Greet, { name: 'ada', tags: ['a', 'b'] });
    await queue.enqueue(Greet, { name: 'grace' });
    await queue.enqueue(Report, { day: 'mon' });
    expect((await tester.enqueued()).map((j) => j.name)).toEqual(['greet', 'greet', 'report']);
    expect((await tester.enqueued('greet')).map((j) => j.payload)).toEqual([{ name: 'ada', tags: ['a', 'b'] }, { name: 'grace' }]);
    expect(await tester.enqueued(Greet, { name: 'grace' })).toHaveLength(1);
    expect(await tester.enqueued(Greet, { tags: ['a', 'b'] })).toHaveLength(1);
    // Arrays match whole, element by element.
    expect(await tester.enqueued(Greet, { tags: ['a'] })).toHaveLength(0);
    expect(await tester.enqueued(Greet, { name: 'linus' })).toHaveLength(0);
  });

  it('expectEnqueued / expectNotEnqueued throw a plain Error subclass listing what was enqueued instead', async () => {
    await queue.enqueue(Greet, { name: 'ada' });
    await queue.enqueue(Report, { day: 'mon' });

    const missing = await tester.expectEnqueued(Greet, { name: 'grace' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(JobsAssertionError);
    expect(missing).toBeInstanceOf(Error);
    expect((missing as Error).name).toBe('JobsAssertionError');
    expect((missing as Error).message).toMatch(/Expected a job 'greet' matching \{"name":"grace"\} to be enqueued, found 0/);
    expect((missing as Error).message).toMatch(/greet on 'mail' \(available\) \{"name":"ada"\}/);
    expect((missing as Error).message).toMatch(/report on 'reports' \(available\) \{"day":"mon"\}/);

    await expect(tester.expectEnqueued(Greet, undefined, { count: 2 })).rejects.toThrow(/Expected 2 job\(s\) 'greet' to be enqueued, found 1/);
    await expect(tester.expectEnqueued(Greet, { name: 'ada' }, { count: 1 })).resolves.toHaveLength(1);
    await expect(tester.expectNotEnqueued(Report)).rejects.toThrow(/Expected no job 'report' to be enqueued, found 1:\n.*report on 'reports'/);
    await expect(tester.expectNotEnqueued(Report, { day: 'tue' })).resolves.toBeUndefined();

    await tester.clear();
    const empty = await tester.expectEnqueued(Greet).catch((e: unknown) => e as Error);
    expect((empty as Error).message).toMatch(/\(no job is enqueued\)/);
  });

  it('drain({ queue }) runs only that queue', async () => {
    await queue.enqueue(Greet, { name: 'ada' });
    await queue.enqueue(Report, { day: 'mon' });
    expect(await tester.drain({ queue: 'reports' })).toMatchObject({ completed: 1 });
    expect(outbox.reports).toEqual(['mon']);
    expect(outbox.greeted).toEqual([]);
    await tester.expectEnqueued(Greet);
  });

  it('drain() leaves the jobs that drained jobs enqueue; recursive runs them too', async () => {
    await queue.enqueue(Parent, { children: 2 });
    expect(await tester.drain()).toMatchObject({ completed: 1 });
    await tester.expectEnqueued(Child, undefined, { count: 2 });
    expect(outbox.children).toEqual([]);

    await queue.enqueue(Parent, { children: 1 });
    expect(await tester.drain({ recursive: true })).toMatchObject({ completed: 4 });
    expect(outbox.children.sort()).toEqual([1, 1, 2]);
    expect(await tester.enqueued()).toEqual([]);
  });

  it('drain() without scheduled leaves a failed job waiting for its retry, and a delayed job waiting', async () => {
    await queue.enqueue(Flaky, { failures: 1 });
    await queue.enqueue(Greet, { name: 'later' }, { delay: 3_600_000 });
    expect(await tester.drain()).toEqual({ completed: 0, retried: 1, dead: 0, cancelled: 0 });
    expect((await tester.enqueued()).map((j) => [j.name, j.state])).toEqual([['flaky', 'retryable'], ['greet', 'scheduled']]);
  });

  it('drain({ limit }) stops after that many runs', async () => {
    for (const name of ['a', 'b', 'c']) await queue.enqueue(Greet, { name });
    expect(await tester.drain({ limit: 2 })).toMatchObject({ completed: 2 });
    expect(await tester.enqueued()).toHaveLength(1);
  });

  it('perform() runs the handler with its real dependencies and ctx, storing nothing', async () => {
    await expect(tester.perform(Greet, { name: 'ada' })).resolves.toEqual({ greeted: 'ada', attempt: 1 });
    await expect(tester.perform('greet', { name: 'bob' }, { attempt: 3 })).resolves.toEqual({ greeted: 'bob', attempt: 3 });
    expect(outbox.greeted).toEqual(['ada', 'bob']);
    await expect(tester.perform(Flaky, { failures: 1 })).rejects.toBeInstanceOf(SmtpError);
    await expect(tester.perform(Flaky, { failures: 1 }, { attempt: 2 })).resolves.toBe('sent');
    expect(await tester.enqueued()).toEqual([]);
    expect((await queue.stats()).every((s) => s.completed.allTime === 0)).toBe(true);
  });

  it('perform() checks the job and its payload as enqueue does', async () => {
    await expect(tester.perform(Greet, { name: '' })).rejects.toBeInstanceOf(InvalidPayloadError);
    await expect(tester.perform('nope', {})).rejects.toBeInstanceOf(UnknownJobError);
    await expect(tester.perform(Greet, { name: 'a' }, { attempt: 0 })).rejects.toThrow(/attempt/);
    await expect(tester.perform(Greet, { name: 'a' }, { atempt: 2 } as never)).rejects.toThrow(/did you mean 'attempt'/);
    expect(outbox.greeted).toEqual([]);
  });

  it('clear() drops every stored job', async () => {
    await queue.enqueue(Greet, { name: 'ada' });
    await queue.enqueue(Report, { day: 'mon' }, { delay: 1000 });
    await tester.clear();
    expect(await tester.enqueued()).toEqual([]);
    expect(await tester.drain({ scheduled: kind === 'memory' })).toEqual({ completed: 0, retried: 0, dead: 0, cancelled: 0 });
  });

  it('refuses bad drain options, naming them', async () => {
    await expect(tester.drain({ queue: 'a b' })).rejects.toThrow(/queue name/);
    await expect(tester.drain({ limit: 0 })).rejects.toThrow(/limit/);
    await expect(tester.drain({ recursve: true } as never)).rejects.toThrow(/did you mean 'recursive'/);
    await expect(tester.drain({ scheduled: 'yes' } as never)).rejects.toThrow(/scheduled/);
  });

  it('drain({ scheduled }) runs delayed jobs and retries with backoff in one drain, on the fake clock', async () => {
    const start = tester.clock.now();
    await queue.enqueue(Flaky, { failures: 2 });
    await queue.enqueue(Greet, { name: 'later' }, { delay: 3_600_000 });
    await queue.enqueue(Doomed, { why: 'mailbox full' });
    expect(await tester.drain({ scheduled: true })).toEqual({ completed: 2, retried: 4, dead: 1, cancelled: 0 });
    expect(outbox.attempts).toEqual([1, 2, 3]);
    expect(outbox.greeted).toEqual(['later']);
    // The memory storage follows the fake clock. A database keeps its own: the fake clock moves
    // as far as each next job waits there, and those jobs are made due now (the database's time
    // stands still, so the waits add up: the hour, and the four retries' minute each).
    if (kind === 'memory') expect(tester.clock.now() - start).toBe(3_600_000);
    else expect(Math.abs(tester.clock.now() - start - 3_840_000)).toBeLessThan(5_000);
    expect(await tester.enqueued()).toEqual([]);
  });
});

describe('JobsTestingModule.forRoot options', () => {
  it('refuses bad options where the test names them', () => {
    expect(() => JobsTestingModule.forRoot({ mode: 'auto' } as never)).toThrow(/'mode'.*expected 'manual' or 'inline', got "auto"/);
    expect(() => JobsTestingModule.forRoot({ mdoe: 'inline' } as never)).toThrow(/did you mean 'mode'/);
    expect(() => JobsTestingModule.forRoot({ clock: { now: () => 0 } } as never)).toThrow(/'clock'.*FakeClock/);
  });

  it('runs on the FakeClock it is given', async () => {
    const clock = new FakeClock(new Date('2030-01-01T00:00:00Z'));
    const app = await Test.createTestingModule({ imports: [JobsTestingModule.forRoot({ clock })], providers: PROVIDERS }).compile();
    await app.init();
    try {
      expect(app.get(JobsTester).clock).toBe(clock);
      const { id } = await app.get(QueueService).enqueue(Greet, { name: 'ada' });
      expect((await app.get(QueueService).getJob(id))?.createdAt.toISOString()).toBe('2030-01-01T00:00:00.000Z');
    } finally {
      await app.close();
    }
  });
});
