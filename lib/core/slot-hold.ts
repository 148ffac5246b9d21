import type { TimerHandle } from './clock.js';
import { coerceError } from './coerce-error.js';
import type { WorkerDeps } from './job-executor.js';
import type { SlotGrant } from './slots.js';

/** The hold's timings, in one place. */
export const SLOT_HOLD = {
  /** A hold is asked again at least this often while the runner claims (limits changed elsewhere are followed within it). */
  refreshMs: 1000,
  /** Slots left idle (the queue drained here) go back after this long, or at once when another instance waits for slots. */
  lingerMs: 1000,
} as const;

/** What the hold needs of its runner. */
export interface SlotHolderHost {
  /** Slots in use: running handlers, starts being recorded, hand-offs being written. */
  busy(): number;
  /** Whether it has work to start (jobs buffered, or the queue not drained here). */
  hasWork(): boolean;
  /** The slots it may use changed (more may start now). */
  changed(): void;
}

/**
 * This instance's hold on a queue's slots under a `globalConcurrency` (see `core/slots.ts`):
 * the runner starts at most `slots` handlers. The hold is asked for before claims when it is
 * short of the concurrency, renewed at least every `refreshMs` while claiming and at each
 * heartbeat, cut back to the slots in use when the queue drains here, and let go at shutdown.
 * On a queue without a global concurrency (or a storage without `holdSlots`), `slots` is the
 * concurrency and nothing is asked beyond a cached look.
 *
 * While a request is out, the runner uses no more slots than it kept (`SlotRequest.keep`),
 * and it starts more only once the storage has granted them: so the handlers running here
 * never outnumber the slots the storage counts for this instance.
 */
export class SlotHold {
  /** Null until the storage first answered; false: no global concurrency (as last asked). */
  private limited: boolean | null;
  private granted = 0;
  /** What the storage holds for this instance (at least `granted`: the slots kept while those handlers finish). */
  private held = 0;
  private asking: Promise<void> | null = null;
  private answeredAt = -Infinity;
  private shortAt = -Infinity;
  private othersWaiting = false;
  private lingerTimer: TimerHandle | null = null;
  private closed = false;

  constructor(
    private readonly queue: string,
    private readonly concurrency: number,
    private readonly deps: WorkerDeps,
    private readonly host: SlotHolderHost,
  ) {
    this.limited = deps.storage.holdSlots ? null : false;
  }

  /** Handlers that may run at once here now. */
  get slots(): number {
    return this.limited === false ? this.concurrency : Math.min(this.concurrency, this.granted);
  }

  /**
   * Before a claim: asks the storage when it has not said yet whether the queue is limited,
   * when the last answer is older than `refreshMs`, or when the hold is short of the
   * concurrency (at most once per poll interval, unless slots were handed back here).
   */
  async beforeClaim(): Promise<void> {
    if (this.asking) await this.asking;
    const now = this.deps.clock.now();
    const stale = now - this.answeredAt >= SLOT_HOLD.refreshMs;
    const short = this.limited === true && this.granted < this.concurrency && now - this.shortAt >= this.deps.settings.pollIntervalMs;
    if (this.limited === null || stale || short) await this.ask(this.concurrency);
  }

  /** At each heartbeat: renews the hold's lease (it lapses otherwise, and the slots go to other instances). */
  async renew(): Promise<void> {
    if (this.limited !== true || this.closed) return;
    await this.ask(this.host.hasWork() ? this.concurrency : this.host.busy());
  }

  /**
   * A handler finished. Slots held past the grant (it was cut while they ran) go back once
   * free; when the queue has drained here, idle slots go back after `lingerMs` (at once when
   * other instances wait): a new job soon after runs without asking again.
   */
  finished(): void {
    if (this.limited !== true || this.closed || this.asking) return;
    const busy = this.host.busy();
    if (this.held > this.granted && busy <= this.granted) {
      void this.ask(this.host.hasWork() ? this.concurrency : busy);
      return;
    }
    if (!this.host.hasWork() && this.held > busy) this.lingerThenRelease();
  }

  /** The queue drained here. */
  drained(): void {
    if (this.limited === true && !this.closed && this.held > this.host.busy()) this.lingerThenRelease();
  }

  /** Shutdown, once every handler settled: lets go of every slot (else they go back when the lease runs out). */
  async release(): Promise<void> {
    this.closed = true;
    this.clearLinger();
    if (this.asking) await this.asking;
    if (this.limited === false && this.held === 0) return;
    await this.ask(0, true);
  }

  private lingerThenRelease(): void {
    if (this.lingerTimer) return;
    this.lingerTimer = this.deps.clock.setTimeout(() => {
      this.lingerTimer = null;
      if (this.closed || this.host.hasWork() || this.asking) return;
      const busy = this.host.busy();
      if (this.held > busy) void this.ask(busy);
    }, this.othersWaiting ? 0 : SLOT_HOLD.lingerMs);
  }

  private clearLinger(): void {
    if (this.lingerTimer) this.deps.clock.clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
  }

  /** One request at a time; `want` slots, keeping those it may use meanwhile. */
  private ask(want: number, final = false): Promise<void> {
    const after = this.asking ?? Promise.resolve();
    const next = after.then(() => this.request(final ? 0 : Math.min(want, this.concurrency), final));
    const settled = next.finally(() => {
      if (this.asking === settled) this.asking = null;
    });
    this.asking = settled;
    return settled;
  }

  private async request(want: number, final: boolean): Promise<void> {
    const { storage, workerId, settings, clock, logger } = this.deps;
    const keep = final ? 0 : Math.min(this.slots, want);
    if (this.limited !== false) this.granted = Math.min(this.granted, keep);
    let grant: SlotGrant | null;
    try {
      grant = await storage.holdSlots!(this.queue, workerId, { want, keep, leaseMs: settings.leaseMs });
    } catch (err) {
      logger.error(`Could not hold slots of queue '${this.queue}' (its globalConcurrency): ${coerceError(err).message}`);
      // Past a whole lease without an answer the hold has lapsed: other instances may have its slots.
      if (clock.now() - this.answeredAt >= settings.leaseMs && this.limited !== false) this.granted = 0;
      this.shortAt = clock.now();
      return;
    }
    const before = this.slots;
    this.answeredAt = clock.now();
    if (grant === null) {
      this.limited = false;
      this.held = 0;
    } else {
      this.limited = true;
      this.granted = grant.slots;
      this.held = Math.max(grant.slots, keep);
      this.othersWaiting = grant.othersWaiting;
      if (grant.slots < want) this.shortAt = this.answeredAt;
    }
    if (this.slots > before && !this.closed) this.host.changed();
  }
}
