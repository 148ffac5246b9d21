import type { Subject } from 'rxjs';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import type { Clock } from './clock.js';
import { ENQUEUE_MANY_KEYS, type BulkJob, type EnqueueOptions } from './enqueue-options.js';
import { enqueueThrough } from './enqueue-middleware.js';
import type { HandlerRegistry } from './handler-registry.js';
import type { JobEvent } from './job-events.js';
import type { EngineLogger } from './engine-options.js';
import type { BatchResult, EnqueueResult, FlowIds, NewFlowNode, NewJob } from './job-record.js';
import { buildBatch, type BatchOptions } from './batch-builder.js';
import { buildFlow, FLOW_OPTION_KEYS, type FlowNode } from './flow-builder.js';
import { JobBuilder, type JobClientSettings } from './job-builder.js';
import type { JobToken } from './job-token.js';
import { assertKnownKeys } from './known-keys.js';
import { NO_LOCAL_WORKERS, type HandoffReservation, type LocalWorkers } from './local-workers.js';
import { MiddlewareChain } from './middleware.js';
import type { ClaimedEnqueue, Storage } from './storage.js';

export type { JobClientSettings } from './job-builder.js';

export interface JobClientDeps {
  storage: Storage;
  registry: HandlerRegistry;
  settings: JobClientSettings;
  events: Subject<JobEvent>;
  clock: Clock;
  /** This instance's own workers, woken after an enqueue and offered the local hand-off. */
  local?: LocalWorkers;
  /** Told once per job name that is routed without knowing its handler (see `routeBlind`). */
  logger?: Pick<EngineLogger, 'warn'>;
  /** Job middleware whose `enqueue` hooks run before each job is stored. */
  middleware?: MiddlewareChain;
}

/**
 * The producer side: validates a job completely (names, payload, schema, size, options)
 * before anything is stored, then writes through the storage in one round trip.
 */
export class JobClient {
  private readonly storage: Storage;
  private readonly registry: HandlerRegistry;
  private readonly events: Subject<JobEvent>;
  private readonly clock: Clock;
  private readonly local: LocalWorkers;
  private readonly logger: Pick<EngineLogger, 'warn'> | undefined;
  private readonly middleware: MiddlewareChain;
  private readonly builder: JobBuilder;

  constructor(deps: JobClientDeps) {
    this.storage = deps.storage;
    this.registry = deps.registry;
    this.events = deps.events;
    this.clock = deps.clock;
    this.local = deps.local ?? NO_LOCAL_WORKERS;
    this.logger = deps.logger;
    this.middleware = deps.middleware ?? new MiddlewareChain();
    this.builder = new JobBuilder(deps);
  }

  /**
   * A job due now, with no unique key, enqueued outside a caller's transaction, when this
   * instance's own worker has a free slot on its queue (and nothing waiting there): it is
   * stored already claimed by that worker and starts at once, one round trip instead of an
   * INSERT, a wake-up and a claim. Otherwise it is stored waiting and claimed as usual.
   */
  async enqueue(nameOrToken: string | JobToken<unknown>, payload: unknown, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    const built = this.builder.build(nameOrToken, payload, options);
    const job = built instanceof Promise ? await built : built;
    if (!this.hooked(job)) return this.store(job, options);
    const results = await enqueueThrough(this.middleware, [job], () => options, async () => [await this.store(job, options)], this.lateError);
    return results![0]!;
  }

  /** Stores one validated job (see `enqueue`). */
  private async store(job: NewJob, options: EnqueueOptions): Promise<EnqueueResult> {
    const slot =
      options.manager === undefined && this.storage.enqueueClaimed && job.uniqueKey === null && !job.group && job.runAt === null && !job.delayMs
        ? this.local.reserve(job)
        : null;
    if (slot) return this.enqueueClaimed(job, slot);
    const [result] = await this.storage.enqueue([job], { manager: options.manager });
    this.after([job], [result!], options.manager === undefined);
    return result!;
  }

  /**
   * Stores one job (validated as `enqueue` does) and hands the running job `snooze.id`, held
   * by `snooze.workerId`, back to wait until `snooze.until`: both in one transaction where the
   * storage has `snoozeWith` (every storage of this package), so a crash leaves both done or
   * neither. `held` false: the lease was lost, and (with `snoozeWith`) nothing was stored.
   * `result` null while `held`: the running job's cancellation was requested (an `unschedule()`
   * during a tick), so it ended cancelled and the job was not stored.
   * A storage without it gets the two writes one after the other, the job first.
   */
  async enqueueWithSnooze(
    nameOrToken: string | JobToken<unknown>,
    payload: unknown,
    options: EnqueueOptions,
    snooze: { id: string; workerId: string; until: Date },
  ): Promise<{ held: boolean; result: EnqueueResult | null }> {
    if (options.manager !== undefined) throw new InvalidOptionsError('manager', 'a snooze runs in its own transaction');
    const built = this.builder.build(nameOrToken, payload, options);
    const job = built instanceof Promise ? await built : built;
    if (!this.hooked(job)) return this.storeWithSnooze(job, snooze);
    let out: { held: boolean; result: EnqueueResult | null } = { held: false, result: null };
    const write = async () => {
      out = await this.storeWithSnooze(job, snooze);
      return out.result ? [out.result] : null;
    };
    await enqueueThrough(this.middleware, [job], () => options, write, this.lateError);
    return out;
  }

  private async storeWithSnooze(job: NewJob, snooze: { id: string; workerId: string; until: Date }): Promise<{ held: boolean; result: EnqueueResult | null }> {
    if (this.storage.snoozeWith) {
      const results = await this.storage.snoozeWith(snooze.id, snooze.workerId, snooze.until, [job]);
      if (!results) return { held: false, result: null };
      if (!results.length) return { held: true, result: null };
      this.after([job], results, true);
      return { held: true, result: results[0]! };
    }
    const [result] = await this.storage.enqueue([job]);
    this.after([job], [result!], true);
    const held = await this.storage.release([snooze.id], snooze.workerId, snooze.until);
    return { held: held.length > 0, result: result! };
  }

  private async enqueueClaimed(job: NewJob, slot: HandoffReservation): Promise<EnqueueResult> {
    let out: ClaimedEnqueue;
    try {
      out = await this.storage.enqueueClaimed!(job, slot.workerId, slot.leaseMs);
    } catch (err) {
      slot.cancel();
      throw err;
    }
    // Claimed: this worker runs it, no one else needs waking. Stored waiting (a paused queue): as usual.
    this.after([job], [out.result], out.claimed === null);
    if (out.claimed) slot.start(out.claimed);
    else slot.cancel();
    return out.result;
  }

  async enqueueMany(items: BulkJob[], options: { manager?: unknown } = {}): Promise<EnqueueResult[]> {
    assertKnownKeys(options, ENQUEUE_MANY_KEYS, 'enqueueMany options');
    const jobs = await this.builder.buildMany(items, 'enqueueMany');
    if (!jobs.length) return [];
    const write = async () => {
      const results = await this.storage.enqueue(jobs, { manager: options.manager });
      this.after(jobs, results, options.manager === undefined);
      return results;
    };
    return (await this.throughMiddleware(jobs, (i) => items[i]!.options ?? {}, write))!;
  }

  /** `write` stores `jobs`, through the enqueue middleware when some apply (a throw before the write stores nothing). */
  private throughMiddleware(
    jobs: NewJob[],
    optionsOf: (i: number) => Readonly<Omit<EnqueueOptions, 'manager'>>,
    write: () => Promise<EnqueueResult[] | null>,
  ): Promise<EnqueueResult[] | null> {
    if (!jobs.some((job) => this.hooked(job))) return write();
    return enqueueThrough(this.middleware, jobs, optionsOf, write, this.lateError);
  }

  /**
   * Stores `items` (as `enqueueMany`, without unique keys) as one batch, in one transaction;
   * its callbacks are stored exactly once each, when they fall due (see `Storage.enqueueBatch`).
   */
  async batch(items: BulkJob[], options: BatchOptions = {}): Promise<BatchResult> {
    if (!this.storage.enqueueBatch) throw new InvalidOptionsError('batch', 'this storage does not store batches');
    const spec = await buildBatch(options, (job, payload, opts, where) => this.builder.build(job, payload, opts, where));
    const jobs = await this.builder.buildMany(items, 'batch');
    if (!jobs.length) throw new InvalidOptionsError('batch', 'expected at least one job');
    jobs.forEach((job, i) => {
      if (job.uniqueKey !== null) throw new InvalidOptionsError(`batch[${i}].options.uniqueKey`, 'a batch stores new jobs only: unique keys are not taken in batches');
    });
    const enqueueBatch = this.storage.enqueueBatch.bind(this.storage);
    let result!: BatchResult;
    const write = async () => {
      result = await enqueueBatch(jobs, spec.batch, { manager: spec.manager });
      const results = result.ids.map((id) => ({ id, duplicate: false }));
      this.after(jobs, results, spec.manager === undefined);
      return results;
    };
    await this.throughMiddleware(jobs, (i) => items[i]!.options ?? {}, write);
    return result;
  }

  /**
   * Stores a flow (see `Storage.enqueueFlow`): every job validated first, then the whole tree
   * in one transaction (the caller's, with `{ manager }`). Resolves with the tree of ids.
   */
  async flow(root: FlowNode, options: { manager?: unknown } = {}): Promise<FlowIds> {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('flow options', 'expected { manager? }');
    assertKnownKeys(options, FLOW_OPTION_KEYS, 'flow options');
    if (!this.storage.enqueueFlow) throw new InvalidOptionsError('flow', 'this storage does not store flows');
    const { tree, jobs, options: jobOptions } = await buildFlow(root, (job, payload, opts, where) => this.builder.build(job, payload, opts, where));
    const enqueueFlow = this.storage.enqueueFlow.bind(this.storage);
    let ids!: FlowIds;
    const write = async () => {
      ids = await enqueueFlow(tree, { manager: options.manager });
      const flat: EnqueueResult[] = [];
      const walk = (node: FlowIds) => {
        flat.push({ id: node.id, duplicate: false });
        node.children.forEach(walk);
      };
      walk(ids);
      // Only the leaves are due; a parent becomes available when its children have finished.
      this.after(jobs, flat, false);
      if (options.manager === undefined) this.wakeLocal(leavesOf(tree));
      return flat;
    };
    await this.throughMiddleware(jobs, (i) => jobOptions[i]!, write);
    return ids;
  }

  /** Whether a job goes through the enqueue middleware: when there are some, every job but the module's own (schedule rows). */
  private hooked(job: NewJob): boolean {
    return this.middleware.enqueueHooks.length > 0 && this.registry.get(job.name)?.internal !== true;
  }

  private readonly lateError = (err: unknown): void => {
    this.logger?.warn(`A job middleware failed after its job was stored (the enqueue stands): ${err instanceof Error ? err.message : String(err)}`);
  };

  /** Checks a job as `enqueue` would (name, payload, schema, size, options) without storing it. */
  async validate(nameOrToken: string | JobToken<unknown>, payload: unknown, options: EnqueueOptions = {}): Promise<void> {
    await this.builder.build(nameOrToken, payload, options);
  }

  /**
   * `wake`: false inside a caller's transaction (the rows are invisible until commit: the
   * poll, or the database's NOTIFY on commit, picks them up; an early local wake-up would
   * find nothing), and for a job handed off to this instance's worker.
   */
  private after(jobs: NewJob[], results: EnqueueResult[], wake: boolean): void {
    if (wake) this.wakeLocal(jobs);
    if (!this.events.observed) return;
    const at = this.clock.now();
    jobs.forEach((job, i) => {
      const r = results[i]!;
      this.events.next({ type: 'enqueued', jobId: r.id, name: job.name, queue: job.queue, attempt: 0, at, duplicate: r.duplicate });
    });
  }

  /**
   * Tells this instance's workers about the stored jobs: a queue with a job due now claims at
   * once; a delayed job's queue claims when it falls due (a delay counts from the INSERT, which
   * has returned, so this is never early), instead of a poll interval later.
   */
  private wakeLocal(jobs: NewJob[]): void {
    const now = this.clock.now();
    let dueNow: Set<string> | null = null;
    for (const job of jobs) {
      const at = job.runAt ? job.runAt.getTime() : job.delayMs ? now + job.delayMs : now;
      if (at <= now) (dueNow ??= new Set()).add(job.queue);
      else this.local.wakeAt(job.queue, at);
    }
    if (dueNow) for (const queue of dueNow) this.local.wake(queue);
  }

}

/** The jobs of the nodes without children: the ones due at once. */
function leavesOf(node: NewFlowNode, out: NewJob[] = []): NewJob[] {
  if (!node.children.length) out.push(node.job);
  for (const child of node.children) leavesOf(child, out);
  return out;
}
