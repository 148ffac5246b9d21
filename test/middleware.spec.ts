import { Injectable, Module, type DynamicModule } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { MiddlewareChain, runChain } from '../lib/core/middleware.js';
import {
  Backoff,
  GlobalJobMiddleware,
  InvalidOptionsError,
  Job,
  JobMiddlewareError,
  JobsModule,
  Processor,
  type EnqueueingJob,
  type JobContext,
  type JobMiddleware,
  type JobRecord,
  type JobsModuleOptions,
} from '../lib/index.js';
import { closeAppsAfterEach, compileApp, queueOf, runtimeOf, startApp } from './fixtures/app.js';

const log: string[] = [];

/** Logs around both hooks under its name. */
function tracer(name: string): JobMiddleware {
  return {
    name,
    async enqueue(job, next) {
      log.push(`${name}:enqueue>`);
      job.headers[name] = String(Object.keys(job.headers).length);
      await next();
      log.push(`${name}:enqueue<${job.id}`);
    },
    async process(_job, _ctx, next) {
      log.push(`${name}:process>`);
      try {
        const result = await next();
        log.push(`${name}:process<${JSON.stringify(result)}`);
        return result;
      } catch (err) {
        log.push(`${name}:process!${(err as Error).message}`);
        throw err;
      }
    },
  };
}

let failFirst = true;

@Processor({ queue: 'mwq', maxRetries: 2, backoff: Backoff.fixed(1) })
class MiddlewareProcessor {
  @Job('work')
  work(payload: { fail?: boolean }, ctx: JobContext) {
    log.push(`handler#${ctx.attempt} ${JSON.stringify(ctx.headers)}`);
    if (payload.fail && failFirst) {
      failFirst = false;
      throw new Error('first attempt fails');
    }
    return { done: ctx.attempt };
  }
}

/** A service a middleware provider injects. */
@Injectable()
class TenantService {
  current = 'tenant-a';
}

@Injectable()
class TenantMiddleware implements JobMiddleware {
  constructor(private readonly tenants: TenantService) {}
  async enqueue(job: EnqueueingJob, next: () => Promise<void>) {
    job.headers['x-tenant'] = this.tenants.current;
    await next();
  }
}

@GlobalJobMiddleware()
@Injectable()
class AddOnMiddleware implements JobMiddleware {
  constructor(private readonly tenants: TenantService) {}
  async process(job: JobRecord, _ctx: JobContext, next: () => Promise<unknown>) {
    log.push(`addon:${this.tenants.current}:${job.headers['x-tenant']}`);
    return next();
  }
}

function appModule(options: JobsModuleOptions, providers: unknown[] = []): DynamicModule {
  @Module({})
  class MiddlewareApp {}
  return {
    module: MiddlewareApp,
    imports: [JobsModule.forRoot({ storage: { type: 'memory' }, logger: false, pollIntervalMs: 10, ...options })],
    providers: [MiddlewareProcessor, ...(providers as [])],
  };
}

const start = async (options: JobsModuleOptions, providers: unknown[] = []) => {
  log.length = 0;
  failFirst = true;
  const app = await startApp({ imports: [appModule(options, providers)] });
  return queueOf(app);
};

describe('runChain', () => {
  const hooks = (...list: JobMiddleware[]) => {
    const chain = new MiddlewareChain();
    chain.add(list);
    return chain.processHooks;
  };
  const job = {} as JobRecord;
  const ctx = {} as JobContext;

  it('runs the first middleware outermost and resolves with the inner value whatever a middleware returns', async () => {
    const order: string[] = [];
    const mw = (n: string): JobMiddleware => ({
      name: n,
      async process(_j, _c, next) {
        order.push(`${n}>`);
        await next();
        order.push(`<${n}`);
        return 'ignored';
      },
    });
    expect(await runChain(hooks(mw('a'), mw('b')), 'process', job, ctx, () => 7)).toBe(7);
    expect(order).toEqual(['a>', 'b>', '<b', '<a']);
  });

  it("passes the inner error through unchanged; a middleware's own error names it", async () => {
    const inner = new Error('inner');
    const pass: JobMiddleware = { name: 'Pass', process: (_j, _c, next) => next() };
    await expect(runChain(hooks(pass), 'process', job, ctx, () => Promise.reject(inner))).rejects.toBe(inner);
    class Boom implements JobMiddleware {
      process(): unknown {
        throw new TypeError('kaput');
      }
    }
    const err = await runChain(hooks(pass, new Boom()), 'process', job, ctx, () => 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobMiddlewareError);
    expect(err).toMatchObject({ middleware: 'Boom', hook: 'process', message: "Job middleware 'Boom' failed in process(): kaput" });
    expect((err as JobMiddlewareError).cause).toBeInstanceOf(TypeError);
  });

  it('a middleware that swallows the inner error does not turn the failure into a success', async () => {
    const swallow: JobMiddleware = { name: 'Swallow', process: (_j, _c, next) => next().catch(() => 'fine') };
    await expect(runChain(hooks(swallow), 'process', job, ctx, () => Promise.reject(new Error('real')))).rejects.toThrow('real');
  });

  it('refuses a middleware that skips next() or calls it twice', async () => {
    const skip: JobMiddleware = { name: 'Skip', process: () => undefined };
    await expect(runChain(hooks(skip), 'process', job, ctx, () => 1)).rejects.toThrow(
      "Job middleware 'Skip' failed in process(): returned without calling next(): the handler would not run",
    );
    const twice: JobMiddleware = { name: 'Twice', process: async (_j, _c, next) => { await next(); return next(); } };
    await expect(runChain(hooks(twice), 'process', job, ctx, () => 1)).rejects.toThrow("'Twice' failed in process(): called next() more than once");
  });

  it('MiddlewareChain.add refuses what is not middleware, naming the entry', () => {
    const chain = new MiddlewareChain();
    expect(() => chain.add([{ name: 'x' } as JobMiddleware])).toThrow(InvalidOptionsError);
    expect(() => chain.add([tracer('ok'), 42 as unknown as JobMiddleware])).toThrow("Invalid option 'middleware[1]'");
    expect(() => chain.add([{ enqueue: 'no' } as unknown as JobMiddleware])).toThrow('enqueue(job, next)');
    expect(chain.all()).toEqual([]);
  });
});

describe('job middleware in the module', () => {
  closeAppsAfterEach();

  it('runs enqueue and process hooks in the order given; headers set at enqueue reach ctx.headers; a retry runs the chain again', async () => {
    const queue = await start({ middleware: [tracer('outer'), tracer('inner')] });
    const { id } = await queue.enqueue('work', { fail: true }, { headers: { given: 'yes' } });
    await queue.waitFor(id, { timeoutMs: 5000 });
    const headers = JSON.stringify({ given: 'yes', outer: '1', inner: '2' });
    // The local hand-off may start the job before the producer's middleware resume: each side in its own order.
    expect(log.filter((l) => l.includes(':enqueue'))).toEqual(['outer:enqueue>', 'inner:enqueue>', `inner:enqueue<${id}`, `outer:enqueue<${id}`]);
    expect(log.filter((l) => !l.includes(':enqueue'))).toEqual([
      'outer:process>', 'inner:process>', `handler#1 ${headers}`, 'inner:process!first attempt fails', 'outer:process!first attempt fails',
      'outer:process>', 'inner:process>', `handler#2 ${headers}`, 'inner:process<{"done":2}', 'outer:process<{"done":2}',
    ]);
  });

  it("a process middleware's throw fails the attempt like a handler error (named, retried), and the next attempt runs", async () => {
    let calls = 0;
    const flaky: JobMiddleware = {
      name: 'Flaky',
      process: (_j, _c, next) => {
        if (calls++ === 0) throw new Error('not now');
        return next();
      },
    };
    const queue = await start({ middleware: [flaky] });
    const { id } = await queue.enqueue('work', {});
    expect(await queue.waitFor(id, { timeoutMs: 5000 })).toEqual({ done: 2 });
    const job = await queue.getJob(id);
    expect(job!.attempt).toBe(2);
    expect(job!.lastError!.message).toBe("Job middleware 'Flaky' failed in process(): not now");
    expect(log.filter((l) => l.startsWith('handler'))).toHaveLength(1);
  });

  it('a bulk enqueue whose middleware throws for one job stores none, and the other jobs see next() reject', async () => {
    const seen: string[] = [];
    const picky: JobMiddleware = {
      name: 'Picky',
      async enqueue(job, next) {
        if ((job.payload as { bad?: boolean }).bad) throw new Error('bad job');
        try {
          await next();
          seen.push('stored');
        } catch (err) {
          seen.push(`not stored: ${(err as Error).message}`);
          throw err;
        }
      },
    };
    const queue = await start({ middleware: [picky], workers: false });
    await expect(queue.enqueueMany([{ name: 'work', payload: {} }, { name: 'work', payload: { bad: true } }, { name: 'work', payload: {} }])).rejects.toThrow(
      "Job middleware 'Picky' failed in enqueue(): bad job",
    );
    expect(seen).toEqual(["not stored: Job middleware 'Picky' failed in enqueue(): bad job", "not stored: Job middleware 'Picky' failed in enqueue(): bad job"]);
    expect((await queue.list({})).jobs).toEqual([]);
  });

  it('batch() and flow() jobs go through the enqueue middleware: headers stored on each job, a throw stores nothing', async () => {
    const stamp: JobMiddleware = {
      name: 'Stamp',
      async enqueue(job, next) {
        if ((job.payload as { bad?: boolean }).bad) throw new Error('refused');
        job.headers.stamped = `${job.name}:${job.options.priority ?? 0}`;
        await next();
      },
    };
    const queue = await start({ middleware: [stamp], workers: false });
    const { ids } = await queue.batch([{ name: 'work', payload: {} }, { name: 'work', payload: {}, options: { priority: 3 } }]);
    expect((await Promise.all(ids.map((id) => queue.getJob(id)))).map((j) => j!.headers)).toEqual([{ stamped: 'work:0' }, { stamped: 'work:3' }]);
    const tree = await queue.flow({ job: 'work', payload: {}, children: [{ job: 'work', payload: {}, options: { priority: 5 } }] });
    expect((await queue.getJob(tree.id))!.headers).toEqual({ stamped: 'work:0' });
    expect((await queue.getJob(tree.children[0]!.id))!.headers).toEqual({ stamped: 'work:5' });
    const before = (await queue.list({})).jobs.length;
    await expect(queue.flow({ job: 'work', payload: {}, children: [{ job: 'work', payload: { bad: true } }] })).rejects.toThrow(
      "Job middleware 'Stamp' failed in enqueue(): refused",
    );
    await expect(queue.batch([{ name: 'work', payload: { bad: true } }])).rejects.toThrow("Job middleware 'Stamp' failed in enqueue(): refused");
    expect((await queue.list({})).jobs).toHaveLength(before);
  });

  it('headers a middleware sets are checked after the chain: an invalid one fails the enqueue, nothing stored', async () => {
    const bad: JobMiddleware = {
      enqueue: async (job, next) => {
        (job.headers as Record<string, unknown>).n = 1;
        await next();
      },
    };
    const queue = await start({ middleware: [bad], workers: false });
    await expect(queue.enqueue('work', {})).rejects.toThrow("Invalid option 'headers of 'work' (after middleware).n': a header value is a string, got number");
    expect((await queue.list({})).jobs).toEqual([]);
  });

  it('an error a middleware raises after its job is stored is logged, and the enqueue stands', async () => {
    const warnings: string[] = [];
    const late: JobMiddleware = { name: 'Late', enqueue: async (_job, next) => { await next(); throw new Error('after the fact'); } };
    log.length = 0;
    const app = await startApp({
      imports: [appModule({ middleware: [late], workers: false, logger: { log() {}, error() {}, warn: (m: string) => warnings.push(m) } })],
    });
    const { id } = await queueOf(app).enqueue('work', {});
    expect(await queueOf(app).getJob(id)).not.toBeNull();
    expect(warnings).toEqual([expect.stringContaining("Job middleware 'Late' failed in enqueue(): after the fact")]);
  });

  it('resolves provider classes from DI (injected services), with @GlobalJobMiddleware providers outermost', async () => {
    const queue = await start({ middleware: [TenantMiddleware, tracer('listed')] }, [TenantService, TenantMiddleware, AddOnMiddleware]);
    const { id } = await queue.enqueue('work', {});
    await queue.waitFor(id, { timeoutMs: 5000 });
    expect((await queue.getJob(id))!.headers).toEqual({ 'x-tenant': 'tenant-a', listed: '1' });
    expect(log.slice(1, 3)).toEqual(['addon:tenant-a:tenant-a', 'listed:process>']);
  });

  it('forRootAsync takes middleware from its factory, objects and provider classes alike', async () => {
    log.length = 0;
    @Module({ providers: [TenantService, TenantMiddleware], exports: [TenantService, TenantMiddleware] })
    class TenantModule {}
    const app = await startApp({
      imports: [
        TenantModule,
        JobsModule.forRootAsync({
          imports: [TenantModule],
          inject: [TenantService],
          useFactory: (tenants: TenantService) => {
            tenants.current = 'from-factory';
            return { storage: { type: 'memory' }, logger: false, workers: false, middleware: [TenantMiddleware, tracer('async')] };
          },
        }),
      ],
    });
    const { id } = await queueOf(app).enqueue('work', {});
    expect((await queueOf(app).getJob(id))!.headers).toEqual({ 'x-tenant': 'from-factory', async: '1' });
  });

  it('a listed class that no module provides is created by Nest; one whose dependencies cannot be resolved is a clear startup error', async () => {
    class Standalone implements JobMiddleware {
      async enqueue(job: EnqueueingJob, next: () => Promise<void>) {
        job.headers.standalone = 'yes';
        await next();
      }
    }
    const queue = await start({ middleware: [Standalone], workers: false });
    const { id } = await queue.enqueue('work', {});
    expect((await queue.getJob(id))!.headers).toEqual({ standalone: 'yes' });
    const app = await compileApp({ imports: [appModule({ middleware: [TenantMiddleware] })] });
    await expect(app.init()).rejects.toThrow('Job middleware TenantMiddleware could not be created');
    expect(runtimeOf(app).middleware.all()).toEqual([]);
  });
});
