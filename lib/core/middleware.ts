import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { JobMiddlewareError } from '../errors/job-middleware.error.js';
import type { EnqueueOptions } from './enqueue-options.js';
import type { HandlerDefinition, JobHandlerFn } from './handler-registry.js';
import type { JobContext } from './job-context.js';
import type { JobRecord } from './job-record.js';

/** A job about to be stored, as an `enqueue` middleware sees it. */
export interface EnqueueingJob {
  readonly name: string;
  readonly queue: string;
  /** A copy of the validated payload: changing it changes nothing stored. */
  readonly payload: unknown;
  /** The options of the call (or of the item of `enqueueMany`), as given. */
  readonly options: Readonly<Omit<EnqueueOptions, 'manager'>>;
  /** The headers to store: the call's `headers`, and whatever middleware set. Checked again after the chain. */
  headers: Record<string, string>;
  /** The stored job's id, once `await next()` has returned (a duplicate: the holder's id); undefined before. */
  readonly id: string | undefined;
}

/**
 * Job middleware: the one extension seam around jobs. Both hooks are optional; each gets a
 * `next` that it calls once. In a list, the first middleware is the outermost.
 *
 * - `enqueue(job, next)` runs in the producer for every job (`enqueue`, `enqueueMany`, inside
 *   a caller's transaction too) before it is stored; it may set `job.headers`. `await next()`
 *   returns once the job (or the whole batch) is stored. A throw before that stores nothing
 *   (for `enqueueMany`: nothing of the batch).
 * - `process(job, ctx, next)` wraps each attempt on the worker: `await next()` runs the handler
 *   and returns its result, or throws its error. A throw fails the attempt like a handler error
 *   (retries apply). The job's outcome is the handler's: a middleware cannot turn a failure
 *   into a success.
 *
 * A middleware that throws is named in the error (`JobMiddlewareError`): by its `name`
 * property when it has one, else its class name.
 */
export interface JobMiddleware {
  readonly name?: string;
  enqueue?(job: EnqueueingJob, next: () => Promise<void>): Promise<void> | void;
  process?(job: JobRecord, ctx: JobContext, next: () => Promise<unknown>): Promise<unknown> | unknown;
}

/** How a middleware is named in messages. */
export function middlewareName(mw: JobMiddleware, index: number): string {
  if (typeof mw.name === 'string' && mw.name) return mw.name;
  const ctor = (mw as { constructor?: { name?: unknown } }).constructor;
  if (ctor && ctor !== Object && typeof ctor.name === 'string' && ctor.name) return ctor.name;
  return `middleware[${index}]`;
}

interface Hook<A extends unknown[]> {
  name: string;
  call: (...args: [...A, () => Promise<unknown>]) => unknown;
}

/**
 * This instance's middleware, in order. Set by the module at startup (`add`); the producer
 * and the workers read the hooks on every job, so an instance without middleware pays one
 * length check per job.
 */
export class MiddlewareChain {
  private readonly list: JobMiddleware[] = [];
  enqueueHooks: Array<Hook<[EnqueueingJob]>> = [];
  processHooks: Array<Hook<[JobRecord, JobContext]>> = [];
  /** Handlers wrapped by the current `processHooks`; emptied when they change. */
  private wrapped = new WeakMap<HandlerDefinition, JobHandlerFn>();

  /** Appends middleware (inner to those already there); an instance given twice is used once. */
  add(items: readonly JobMiddleware[], option = 'middleware'): void {
    if (!Array.isArray(items)) throw new InvalidOptionsError(option, 'expected an array of job middleware');
    items.forEach((mw, i) => {
      if (typeof mw !== 'object' || mw === null) {
        throw new InvalidOptionsError(`${option}[${i}]`, 'expected an object with enqueue(job, next) and/or process(job, ctx, next), or a provider class');
      }
      const e = (mw as JobMiddleware).enqueue;
      const p = (mw as JobMiddleware).process;
      if ((e !== undefined && typeof e !== 'function') || (p !== undefined && typeof p !== 'function') || (e === undefined && p === undefined)) {
        throw new InvalidOptionsError(`${option}[${i}]`, 'a job middleware has an enqueue(job, next) or a process(job, ctx, next) method, or both');
      }
      if (!this.list.includes(mw)) this.list.push(mw);
    });
    this.enqueueHooks = this.list.flatMap((mw, i) =>
      mw.enqueue ? [{ name: middlewareName(mw, i), call: (job: EnqueueingJob, next: () => Promise<unknown>) => mw.enqueue!(job, next as () => Promise<void>) }] : [],
    );
    this.wrapped = new WeakMap();
    this.processHooks = this.list.flatMap((mw, i) => (mw.process ? [{ name: middlewareName(mw, i), call: mw.process.bind(mw) }] : []));
  }

  /** The middleware, in order. */
  all(): readonly JobMiddleware[] {
    return this.list;
  }

  /**
   * A handler wrapped by the `process` hooks (made once per handler), or as it is when there
   * are none; the module's own handlers (schedule rows) run unwrapped.
   */
  handlerOf(def: HandlerDefinition): JobHandlerFn {
    if (!this.processHooks.length || def.internal) return def.handler;
    let wrapped = this.wrapped.get(def);
    if (!wrapped) this.wrapped.set(def, (wrapped = withMiddleware(def.handler, this)));
    return wrapped;
  }
}

/**
 * Runs `hooks` around `inner`, the first outermost. Each `next()` runs the rest synchronously
 * (so an AsyncLocalStorage or OpenTelemetry context a middleware enters around `next()` is the
 * inner one's). Resolves with `inner`'s value whatever the middleware return; an error that
 * `inner` raised passes through unchanged, one a middleware raised itself becomes a
 * `JobMiddlewareError` naming it.
 */
export function runChain<A extends unknown[]>(
  hooks: ReadonlyArray<Hook<A>>,
  hookName: 'enqueue' | 'process',
  args: A,
  inner: () => unknown,
): Promise<unknown> {
  const passed = new Set<unknown>();
  const dispatch = (i: number): Promise<unknown> => {
    if (i === hooks.length) {
      try {
        return Promise.resolve(inner()).catch((err: unknown) => {
          passed.add(err);
          throw err;
        });
      } catch (err) {
        passed.add(err);
        return Promise.reject(err);
      }
    }
    const hook = hooks[i]!;
    let downstream: Promise<unknown> | null = null;
    const next = (): Promise<unknown> => {
      if (downstream) return Promise.reject(new JobMiddlewareError(hook.name, hookName, 'called next() more than once'));
      downstream = dispatch(i + 1);
      // Observed here: a middleware that throws without awaiting next() leaves no unhandled rejection.
      downstream.catch(() => undefined);
      return downstream;
    };
    const own = (err: unknown): never => {
      if (passed.has(err)) throw err;
      const wrapped = err instanceof JobMiddlewareError ? err : new JobMiddlewareError(hook.name, hookName, messageOf(err), err);
      passed.add(wrapped);
      throw wrapped;
    };
    let out: unknown;
    try {
      out = hook.call(...args, next);
    } catch (err) {
      return Promise.reject(err).catch(own);
    }
    return Promise.resolve(out).then(() => {
      if (!downstream) own(new JobMiddlewareError(hook.name, hookName, `returned without calling next(): the ${hookName === 'enqueue' ? 'job would not be stored' : 'handler would not run'}`));
      return downstream;
    }, own);
  };
  return dispatch(0);
}

/** `handler` wrapped by the chain's `process` hooks (read now: middleware added later wrap later runs). */
export function withMiddleware(handler: JobHandlerFn, chain: MiddlewareChain): JobHandlerFn {
  const hooks = chain.processHooks;
  return (payload, ctx, record) => runChain(hooks, 'process', [record, ctx], () => handler(payload, ctx, record));
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
