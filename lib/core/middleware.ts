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

/** One middleware's hook, called with the hook's two arguments (enqueue: the job and nothing) and `next`. */
interface Hook {
  name: string;
  call: (a: unknown, b: unknown, next: () => Promise<unknown>) => unknown;
}

/**
 * This instance's middleware, in order. Set by the module at startup (`add`); the producer
 * and the workers read the hooks on every job, so an instance without middleware pays one
 * length check per job.
 */
export class MiddlewareChain {
  private readonly list: JobMiddleware[] = [];
  enqueueHooks: Hook[] = [];
  processHooks: Hook[] = [];
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
    });
    // Checked all first: a bad entry adds none.
    for (const mw of items) if (!this.list.includes(mw)) this.list.push(mw);
    this.enqueueHooks = this.list.flatMap((mw, i) =>
      mw.enqueue ? [{ name: middlewareName(mw, i), call: (job: unknown, _: unknown, next: () => Promise<unknown>) => mw.enqueue!(job as EnqueueingJob, next as () => Promise<void>) }] : [],
    );
    this.wrapped = new WeakMap();
    this.processHooks = this.list.flatMap((mw, i) =>
      mw.process ? [{ name: middlewareName(mw, i), call: (job: unknown, ctx: unknown, next: () => Promise<unknown>) => mw.process!(job as JobRecord, ctx as JobContext, next) }] : [],
    );
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

/** No error came from further in (yet). */
const NONE = Symbol('none');

/**
 * Runs `hooks` around `inner`, the first outermost, with the hook's arguments `a` and `b`. Each
 * `next()` runs the rest synchronously (so an AsyncLocalStorage or OpenTelemetry context a
 * middleware enters around `next()` is the inner one's). Resolves with `inner`'s value whatever
 * the middleware return; an error from further in passes through unchanged, one a middleware
 * raised itself becomes a `JobMiddlewareError` naming it. It runs for every job: no allocation
 * beyond a closure and a promise or two per middleware.
 */
export function runChain(hooks: readonly Hook[], hookName: 'enqueue' | 'process', a: unknown, b: unknown, inner: () => unknown): Promise<unknown> {
  const dispatch = (i: number): Promise<unknown> => {
    if (i === hooks.length) {
      try {
        return Promise.resolve(inner());
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const hook = hooks[i]!;
    let downstream: Promise<unknown> | null = null;
    // How the rest of the chain settled: an error the middleware rethrows is not its own.
    let below: unknown = NONE;
    let value: unknown;
    let settled = false;
    const next = (): Promise<unknown> => {
      if (downstream) return Promise.reject(new JobMiddlewareError(hook.name, hookName, 'called next() more than once'));
      downstream = dispatch(i + 1);
      return downstream;
    };
    const own = (err: unknown): never => {
      if (err === below || err instanceof JobMiddlewareError) throw err;
      throw new JobMiddlewareError(hook.name, hookName, messageOf(err), err);
    };
    let out: unknown;
    let threw = false;
    try {
      out = hook.call(a, b, next);
    } catch (err) {
      threw = true;
      out = err;
    }
    // Set by next(), which TypeScript cannot see the call above make.
    const rest = downstream as Promise<unknown> | null;
    // The middleware returned what next() did: the chain's outcome, as it is.
    if (!threw && rest && out === rest) return rest;
    // Registered before anything the middleware awaits can settle its own promise, so it runs
    // first; it also keeps a rejection the middleware never awaits from being unhandled.
    rest?.then(
      (v) => {
        value = v;
        settled = true;
      },
      (err: unknown) => {
        below = err;
        settled = true;
      },
    );
    if (threw) return Promise.reject(out).catch(own);
    const done = (): unknown => {
      if (!downstream) {
        own(new JobMiddlewareError(hook.name, hookName, `returned without calling next(): the ${hookName === 'enqueue' ? 'job would not be stored' : 'handler would not run'}`));
      }
      // Settled (the middleware awaited it): its value or error at once, without adopting the promise.
      if (!settled) return downstream;
      if (below !== NONE) throw below;
      return value;
    };
    return isPromiseLike(out) ? Promise.resolve(out).then(done, own) : Promise.resolve().then(done);
  };
  return dispatch(0);
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** `handler` wrapped by the chain's `process` hooks (read now: middleware added later wrap later runs). */
export function withMiddleware(handler: JobHandlerFn, chain: MiddlewareChain): JobHandlerFn {
  const hooks = chain.processHooks;
  return (payload, ctx, record) => runChain(hooks, 'process', record, ctx, () => handler(payload, ctx, record));
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
