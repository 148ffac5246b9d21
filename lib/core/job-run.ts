import type { TimerHandle } from './clock.js';
import { coerceError } from './coerce-error.js';
import type { EngineLogger } from './engine-options.js';
import type { JobHandlerFn } from './handler-registry.js';
import type { JobContext } from './job-context.js';

export type { JobHandlerFn };
import type { ChildOutcome, JobRecord } from './job-record.js';

/**
 * One job's run inside a queue runner: its record, its abort state (reason, signal, timers),
 * the handler's `ctx`, and the small helpers that read a handler's outcome.
 */

/** Where `ctx.progress` reports to (the runner). */
export interface ProgressSink {
  reportProgress(record: JobRecord, percent: number, data?: unknown): Promise<void>;
  /** A flow parent's children (`ctx.children()`). */
  childrenOf(id: string): Promise<ChildOutcome[]>;
}

/**
 * Aborts a running job once: records why, fires its signal if the handler has one, arms the
 * grace timer. Not once its work is done and its outcome is being written (`run.writing`):
 * there is nothing left to stop, and that guarded write, not a heartbeat or a cancel that
 * raced it, says whether the job was still ours.
 */
export function abortRun(run: RunningJob, reason: unknown): void {
  if (run.reason !== undefined || run.writing) return;
  run.reason = reason;
  run.controller?.abort(reason);
  run.onAbort?.(run);
}

function signalOf(run: RunningJob): AbortSignal {
  if (!run.controller) {
    run.controller = new AbortController();
    if (run.reason !== undefined) run.controller.abort(run.reason);
  }
  return run.controller.signal;
}

/**
 * A handler's `ctx`: plain fields, with `signal` and `progress` on the prototype, so a job's
 * context is one small object (an object literal with a getter and a closure per job cost
 * more than the rest of the runner's bookkeeping together, and fed the garbage collector).
 */
export class RunContext implements JobContext {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly group: string | null;
  readonly attempt: number;
  readonly maxAttempts: number | null;
  readonly manager?: unknown;
  readonly #run: RunningJob;
  readonly #runner: ProgressSink;

  constructor(run: RunningJob, runner: ProgressSink, manager?: unknown) {
    const { record } = run;
    this.#run = run;
    this.#runner = runner;
    this.id = record.id;
    this.name = record.name;
    this.queue = record.queue;
    // A storage written before headers existed returns none.
    this.headers = record.headers ?? NO_HEADERS;
    this.group = record.group;
    this.attempt = record.attempt;
    this.maxAttempts = record.maxAttempts;
    if (manager !== undefined) this.manager = manager;
  }

  get signal(): AbortSignal {
    return signalOf(this.#run);
  }

  progress(percent: number, data?: unknown): Promise<void> {
    return this.#runner.reportProgress(this.#run.record, percent, data);
  }

  children(): Promise<ChildOutcome[]> {
    return this.#runner.childrenOf(this.id);
  }
}

export const SETTLED = Promise.resolve();

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** A handler's value after `completeWithin` already wrote the completion. */
export class Committed {
  constructor(readonly held: boolean, readonly value: unknown) {}
}

export function toResultJson(value: unknown, record: JobRecord, logger: EngineLogger): string | null {
  if (value === undefined) return null;
  try {
    return JSON.stringify(value) ?? null;
  } catch (err) {
    logger.warn(`Job ${record.id} returned a value that is not JSON; its result is not stored: ${coerceError(err).message}`);
    return null;
  }
}

export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export interface RunningJob {
  record: JobRecord;
  /** Created only when the handler reads `ctx.signal` (most never do): one allocation less per job. */
  controller: AbortController | null;
  /** Why the job was aborted (timeout, cancel, lost lease, shutdown); undefined while it runs normally. */
  reason: unknown;
  /** Called once, on the first abort (arms the grace timer). */
  onAbort: ((run: RunningJob) => void) | null;
  /** The job's timeout, when it has one. */
  timer: TimerHandle | null;
  /** The abort grace timer, once aborted. */
  grace: TimerHandle | null;
  /** Resolves the handler's outcome (once; a later call is ignored by the promise). */
  resolve: ((outcome: Outcome) => void) | null;
  /** The handler has settled (false when the abort grace ran out first: it may still run). */
  handlerSettled: boolean;
  /**
   * The handler's work is done and its outcome is being written by a guarded write (the
   * completion inside a `transaction: true` job's transaction, a hand-back, a snooze): a
   * heartbeat that meets that write may see the job no longer held, by this very run, so no
   * abort applies. (Outcomes the ack batcher writes need no flag: their runs have ended.)
   */
  writing: boolean;
  /** Set when the grace runs out: resolves once the handler finally settles. */
  handlerDone?: Promise<void>;
  settledLate?: () => void;
  settled: Promise<void>;
  /**
   * The storage knows the job started (the claim started it, or a heartbeat since reported
   * it); until then the next heartbeat reports it (see `Storage.heartbeat`).
   */
  startRecorded: boolean;
  /** When the handler was called, and when it settled (0 until then), on this instance's clock. */
  startedAt: number;
  endedAt: number;
}

/** A run of `record` not started yet; `startRecorded`: the storage knows the job started. */
export function newRun(record: JobRecord, startRecorded: boolean): RunningJob {
  return {
    record, controller: null, reason: undefined, onAbort: null, handlerSettled: false, writing: false, settled: SETTLED,
    timer: null, grace: null, resolve: null, startRecorded, startedAt: 0, endedAt: 0,
  };
}

/** How long the handler ran: until it settled, or until now while it still runs (an abandoned handler). */
export function handlerMs(run: RunningJob, now: number): number {
  return Math.max(0, (run.endedAt || now) - run.startedAt);
}
