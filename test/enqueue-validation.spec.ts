import type { DynamicModule } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  defineJob,
  InvalidNameError,
  InvalidOptionsError,
  InvalidPayloadError,
  Job,
  JobsModule,
  MemoryStorage,
  PayloadTooLargeError,
  Processor,
  UnknownJobError,
  type EnqueueOptions,
  type JobsModuleOptions,
} from '../lib/index.js';
import { closeAppsAfterEach, queueOf, startApp } from './fixtures/app.js';

const Signup = defineJob('signup', {
  schema: z.object({ email: z.email(), age: z.number().int().min(18), tags: z.array(z.string()) }),
});

@Processor('validation')
class ValidationProcessor {
  @Job('plain')
  plain() {}

  @Job(Signup)
  signup() {}

  @Job('typed', { schema: z.object({ userId: z.string().trim().min(1) }) })
  typed() {}
}

class ValidationAppModule {
  static register(storage: MemoryStorage, options: JobsModuleOptions = {}): DynamicModule {
    return {
      module: ValidationAppModule,
      imports: [JobsModule.forRoot({ storage: { instance: storage }, logger: false, ...options })],
      providers: [ValidationProcessor],
    };
  }
}

interface Setup {
  app: TestingModule;
  storage: MemoryStorage;
}

async function setup(options: JobsModuleOptions = {}): Promise<Setup> {
  const storage = new MemoryStorage();
  const app = await startApp({ imports: [ValidationAppModule.register(storage, options)] });
  return { app, storage };
}

async function expectNothingStored({ app, storage }: Setup): Promise<void> {
  expect(await queueOf(app).stats()).toEqual([]);
  expect((await storage.list({})).jobs).toEqual([]);
  expect(await queueOf(app).getJob('1')).toBeNull();
}

/** Runs `call`, expects it to reject with `type`, returns the error. */
async function rejection<E>(call: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  const err = await call.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(type);
  return err as E;
}

const cycle: Record<string, unknown> = { name: 'loop' };
cycle.self = cycle;
class User {
  name = 'ada';
}

describe('enqueue refuses bad input before storing anything', () => {
  closeAppsAfterEach();

  it('an unknown job name on an instance with workers: UnknownJobError', async () => {
    const s = await setup();
    const err = await rejection(queueOf(s.app).enqueue('no-such-job', {}), UnknownJobError);
    expect(err.message).toMatch(/No handler is registered for job 'no-such-job'.*Known jobs: .*plain/);
    await expectNothingStored(s);
  });

  it('an unknown job name on a workers: false instance is accepted (another instance handles it)', async () => {
    const s = await setup({ workers: false });
    const { id } = await queueOf(s.app).enqueue('no-such-job', { x: 1 });
    expect(await s.storage.get(id)).toMatchObject({ name: 'no-such-job', state: 'available', payload: { x: 1 } });
  });

  it.each<[string, unknown, string, RegExp]>([
    ['a function', { cb: () => 1 }, 'cb', /function is not JSON/],
    ['a cycle', cycle, 'self', /circular reference/],
    ['a BigInt', { n: 10n }, 'n', /BigInt/],
    ['a Date', { at: new Date(0) }, 'at', /Date instance/],
    ['a Map', { m: new Map([[1, 2]]) }, 'm', /Map instance/],
    ['a class instance', { u: new User() }, 'u', /User instance/],
    ['NaN', { x: Number.NaN }, 'x', /NaN is not a JSON number/],
    ['Infinity in an array', { list: [1, Infinity] }, 'list[1]', /Infinity/],
    ['a nested function', { user: { emails: ['a@b.c', () => 0] } }, 'user.emails[1]', /function/],
    ['undefined as the payload', undefined, '$', /undefined is not JSON/],
  ])('a payload with %s: InvalidPayloadError naming the path', async (_what, payload, path, message) => {
    const s = await setup();
    const err = await rejection(queueOf(s.app).enqueue('plain', payload), InvalidPayloadError);
    expect(err.issues).toContainEqual({ path, message: expect.stringMatching(message) });
    expect(err.message).toContain(`${path}: `);
    await expectNothingStored(s);
  });

  it('a payload over maxPayloadBytes: PayloadTooLargeError (exactly at the limit is fine)', async () => {
    const s = await setup({ maxPayloadBytes: 100 });
    const err = await rejection(queueOf(s.app).enqueue('plain', { s: 'x'.repeat(93) }), PayloadTooLargeError);
    expect(err).toMatchObject({ bytes: 101, limitBytes: 100 });
    expect(err.message).toMatch(/maxPayloadBytes/);
    await expectNothingStored(s);
    const { id } = await queueOf(s.app).enqueue('plain', { s: 'x'.repeat(92) });
    expect(await s.storage.get(id)).not.toBeNull();
  });

  it('a payload over the default limit of 1 MiB: PayloadTooLargeError', async () => {
    const s = await setup();
    const err = await rejection(queueOf(s.app).enqueue('plain', { s: 'x'.repeat(1024 * 1024) }), PayloadTooLargeError);
    expect(err.limitBytes).toBe(1024 * 1024);
    await expectNothingStored(s);
  });

  it.each([['has space'], ['a'.repeat(129)], [''], ['héllo'], ['semi;colon'], ['__proto__/x']])(
    'queue name %j: InvalidNameError',
    async (queue) => {
      const s = await setup();
      await rejection(queueOf(s.app).enqueue('plain', {}, { queue }), InvalidNameError);
      await expectNothingStored(s);
    },
  );

  it.each([['bad name!'], ['x'.repeat(129)], ['']])('job name %j: InvalidNameError, even without workers', async (name) => {
    for (const workers of [true, false]) {
      const s = await setup({ workers });
      await rejection(queueOf(s.app).enqueue(name, {}), InvalidNameError);
      await expectNothingStored(s);
    }
  });

  it('names of 1 to 128 characters from [A-Za-z0-9_.:-] are accepted', async () => {
    const s = await setup({ workers: false });
    const name = 'Aa0_.:-'.repeat(18).slice(0, 128);
    const { id } = await queueOf(s.app).enqueue(name, {}, { queue: name });
    expect(await s.storage.get(id)).toMatchObject({ name, queue: name });
  });

  it.each<[string, EnqueueOptions]>([
    ['delay', { delay: -1 }],
    ['delay', { delay: 1.5 }],
    ['delay', { delay: '10' as unknown as number }],
    ['priority', { priority: 1.5 }],
    ['priority', { priority: 'high' as unknown as number }],
    ['runAt', { runAt: new Date('not a date') }],
    ['runAt', { runAt: '2026-01-01' as unknown as Date }],
    ['timeout', { timeout: 0 }],
    ['maxRetries', { maxRetries: -1 }],
    ['uniqueKey', { uniqueKey: '' }],
  ])('bad option %s (%j): InvalidOptionsError', async (option, options) => {
    const s = await setup();
    const err = await rejection(queueOf(s.app).enqueue('plain', {}, options), InvalidOptionsError);
    expect(err.option).toBe(option);
    await expectNothingStored(s);
  });

  it('a Standard Schema (zod) failure: InvalidPayloadError listing each issue with its path', async () => {
    const s = await setup();
    const bad = { email: 'not-an-email', age: 12, tags: ['ok', 3] };
    for (const job of [Signup, 'signup'] as const) {
      const err = await rejection(queueOf(s.app).enqueue(job, bad), InvalidPayloadError);
      expect(err.issues.map((i) => i.path).sort()).toEqual(['age', 'email', 'tags[1]']);
      expect(err.message).toMatch(/email: .*age: .*tags\[1\]: /);
    }
    await expectNothingStored(s);
  });

  it('a schema given in @Job options is checked, and its output is what gets stored', async () => {
    const s = await setup();
    const err = await rejection(queueOf(s.app).enqueue('typed', { userId: '   ' }), InvalidPayloadError);
    expect(err.issues).toEqual([{ path: 'userId', message: expect.any(String) }]);
    await expectNothingStored(s);
    const { id } = await queueOf(s.app).enqueue('typed', { userId: '  u1 ' });
    expect((await s.storage.get(id))?.payload).toEqual({ userId: 'u1' });
  });

  it('enqueueMany with one bad item stores none of them', async () => {
    const s = await setup();
    const queue = queueOf(s.app);
    await rejection(
      queue.enqueueMany([
        { name: 'plain', payload: { i: 1 } },
        { name: 'plain', payload: { at: new Date() } },
        { name: 'plain', payload: { i: 3 } },
      ]),
      InvalidPayloadError,
    );
    await rejection(queue.enqueueMany([{ name: 'plain', payload: {} }, { name: 'nope', payload: {} }]), UnknownJobError);
    await rejection(queue.enqueueMany([{ name: 'plain', payload: {} }, { name: 'plain', payload: {}, options: { delay: -5 } }]), InvalidOptionsError);
    await expectNothingStored(s);

    const ok = await queue.enqueueMany([
      { name: 'plain', payload: { i: 1 } },
      { name: Signup, payload: { email: 'a@b.co', age: 30, tags: [] } },
    ]);
    expect(ok).toHaveLength(2);
  });
});
