import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Job, JobFailedError, JobTimeoutError, Processor, QueueService, type JobContext } from '../../lib/index.js';
import { JobsTester, JobsTestingModule } from '../../lib/testing/index.js';
import { matchesPartial } from '../../lib/testing/job-match.js';
import { deferred, type Deferred } from '../fixtures/deferred.js';

const gate: { current: Deferred<string> } = { current: deferred<string>() };

@Processor('misc')
class MiscProcessor {
  @Job('inspect')
  inspect(_payload: unknown, ctx: JobContext & { headers?: Record<string, string> }): unknown {
    return { id: ctx.id, queue: ctx.queue, attempt: ctx.attempt, maxAttempts: ctx.maxAttempts, headers: ctx.headers ?? null };
  }

  @Job('progress')
  async progress(_payload: unknown, ctx: JobContext): Promise<string> {
    await ctx.progress(50, { step: 'half' });
    return 'done';
  }

  @Job('slow', { timeout: 1000, maxRetries: 0 })
  async slow(_payload: unknown, ctx: JobContext): Promise<string> {
    const value = await gate.current.promise;
    return ctx.signal.aborted ? `aborted: ${(ctx.signal.reason as Error).name}` : value;
  }

  @Job('echo')
  echo(payload: unknown): unknown {
    return payload;
  }
}

describe('JobsTester.perform', () => {
  let app: TestingModule;
  let tester: JobsTester;

  beforeEach(async () => {
    gate.current = deferred<string>();
    app = await Test.createTestingModule({ imports: [JobsTestingModule.forRoot({ maxRetries: 4 })], providers: [MiscProcessor] }).compile();
    await app.init();
    tester = app.get(JobsTester);
  });

  afterEach(() => app.close());

  it('gives the handler a real ctx: queue, attempt, maxAttempts from the policy, headers', async () => {
    expect(await tester.perform('inspect', {}, { attempt: 2, headers: { traceparent: '00-abc' } })).toMatchObject({
      queue: 'misc', attempt: 2, maxAttempts: 5, headers: { traceparent: '00-abc' },
    });
    await expect(tester.perform('inspect', {}, { headers: { n: 1 } as never })).rejects.toThrow(/headers\.n/);
  });

  it('accepts ctx.progress() and stores nothing', async () => {
    await expect(tester.perform('progress', {})).resolves.toBe('done');
    expect((await app.get(QueueService).list()).jobs).toEqual([]);
  });

  it("aborts ctx.signal with the handler's timeout on the fake clock", async () => {
    const result = tester.perform('slow', {});
    await tester.advance(1000);
    gate.current.resolve('finished');
    await expect(result).resolves.toBe('aborted: JobTimeoutError');
    expect(tester.clock.pendingTimers).toBe(0);
  });

  it('checks the payload as enqueue does and delivers a copy, as a stored job would', async () => {
    const payload = { list: [1, { a: 'b' }] };
    const delivered = await tester.perform('echo', payload);
    expect(delivered).toEqual(payload);
    expect(delivered).not.toBe(payload);
    await expect(tester.perform('echo', { at: new Date(0) })).rejects.toThrow(/a Date instance is not plain JSON/);
  });
});

describe('inline mode: a job that ends dead without a thrown error', () => {
  it('rejects the enqueue with JobFailedError carrying the stored error', async () => {
    gate.current = deferred<string>();
    const app = await Test.createTestingModule({ imports: [JobsTestingModule.forRoot({ mode: 'inline' })], providers: [MiscProcessor] }).compile();
    await app.init();
    try {
      const enqueued = app.get(QueueService).enqueue('slow', {}).catch((e: unknown) => e);
      await app.get(JobsTester).advance(1000);
      // The handler returns normally after its timeout: the run failed with the timeout, nothing was thrown.
      gate.current.resolve('late');
      const err = await enqueued;
      expect(err).toBeInstanceOf(JobFailedError);
      expect(err).toMatchObject({ state: 'dead', lastError: { name: JobTimeoutError.name } });
    } finally {
      await app.close();
    }
  });
});

describe('matchesPartial', () => {
  it('matches nested objects partially, arrays whole, and values as JSON', () => {
    expect(matchesPartial({ a: { b: 1, c: 2 }, d: 3 }, { a: { b: 1 } })).toBe(true);
    expect(matchesPartial({ a: { b: 1 } }, { a: { b: 2 } })).toBe(false);
    expect(matchesPartial({ a: { b: 1 } }, { a: { x: undefined } })).toBe(true);
    expect(matchesPartial({ list: [{ id: 1, x: 1 }, { id: 2 }] }, { list: [{ id: 1 }, { id: 2 }] })).toBe(true);
    expect(matchesPartial({ list: [1, 2, 3] }, { list: [1, 2] })).toBe(false);
    expect(matchesPartial({ at: '1970-01-01T00:00:00.000Z' }, { at: new Date(0) })).toBe(true);
    expect(matchesPartial({ a: null }, { a: {} })).toBe(false);
    expect(matchesPartial('text', 'text')).toBe(true);
  });
});
