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
  /** Jobs buffered here, waiting for a slot. */
  buffered(): number;
  /** The slots it may use changed (more may start now). */
  changed(): void;
}

/**
 * This instance's hold on a queue's slots under a `globalConcurrency` (see `core/slots.ts`):
 * the runner starts at most `slots` handlers. The hold is asked for before a claim when it is
 * short of the concurrency and the queue has work (at most once per poll interval while the
 * answer stays short), renewed at least every `refreshMs` while claiming and at each
 * heartbeat, cut back to the slots in use once the queue has been idle here for `lingerMs`
 * (at once when other instances wait), and let go at shutdown. On a queue without a global
 * concurrency (or a storage without `holdSlots`), `slots` is the concurrency and nothing is
 * asked beyond a cached look.
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
  /** The last claim came back full: the queue has a backlog. */
  private backlog = true;
  /** When a claim last brought jobs or a handler last finished here. */
  private workedAt = -Infinity;
  private lingerTimer: TimerHandle | null = null;
  /** Shutdown began: no more claims, so no slot is wanted beyond those in use. */
  private stopping = false;
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

  /** `slots` under a global concurrency; null when the queue has none (or the storage has not said yet). */
  get limitedSlots(): number | null {
    return this.limited === true ? this.slots : null;
  }

  /** Slots it could use now: all of them while the queue has work here, else those it holds. */
  private wanted(): number {
    if (this.stopping) return this.host.busy();
    return this.backlog || this.host.buffered() > 0 ? this.concurrency : Math.max(this.granted, this.host.busy());
  }

  /**
   * Before a claim: asks the storage when it has not said yet whether the queue is limited,
   * when the last answer is older than `refreshMs`, or when the hold is short of what it could
   * use (at most once per poll interval while the answer stays short). Holding nothing, it
   * asks for every slot: a claim cannot tell whether jobs wait without taking them.
   */
  async beforeClaim(): Promise<void> {
    if (this.asking) await this.asking;
    const now = this.deps.clock.now();
    const stale = now - this.answeredAt >= SLOT_HOLD.refreshMs;
    const want = this.granted === 0 ? this.concurrency : this.wanted();
    const short = this.limited === true && this.granted < want && now - this.shortAt >= this.deps.settings.pollIntervalMs;
    if (this.limited === null || stale || short) await this.ask(this.limited === null ? this.concurrency : want);
  }

  /** A claim brought `n` jobs of the `limit` asked for. */
  claimed(n: number, limit: number): void {
    this.backlog = n >= limit;
    if (n > 0) this.workedAt = this.deps.clock.now();
    if (!this.backlog) this.idle();
  }

  /** At each heartbeat: renews the hold's lease (it lapses otherwise, and the slots go to other instances). */
  async renew(): Promise<void> {
    if (this.limited !== true || this.closed) return;
    const want = this.wanted();
    // Nothing held, nothing wanted: nothing to renew.
    if (want === 0 && this.held === 0) return;
    await this.ask(want);
  }

  /** Shutdown began: it claims no more, and asks for no slot beyond those its handlers use. */
  stop(): void {
    this.stopping = true;
    this.backlog = false;
  }

  /**
   * A handler finished. Slots held past the grant (it was cut while they ran) go back once
   * free; idle ones go back once the queue has been idle here for `lingerMs`.
   */
  finished(): void {
    // A queue without a global concurrency pays nothing more per job than this test.
    if (this.limited !== true || this.closed) return;
    this.workedAt = this.deps.clock.now();
    if (!this.asking && this.held > this.granted && this.host.busy() <= this.granted) {
      void this.ask(this.wanted());
      return;
    }
    this.idle();
  }

  /** Shutdown, once every handler settled: lets go of every slot (else they go back when the lease runs out). */
  async release(): Promise<void> {
    this.closed = true;
    this.clearLinger();
    if (this.asking) await this.asking;
    if (this.limited === false && this.held === 0) return;
    await this.ask(0, true);
  }

  /** With no backlog and slots idle, they go back after `lingerMs` without work (at once when others wait). */
  private idle(): void {
    if (this.lingerTimer || this.closed || this.limited !== true || this.backlog || this.host.buffered() > 0) return;
    if (this.held <= this.host.busy()) return;
    const wait = this.othersWaiting ? 0 : Math.max(0, this.workedAt + SLOT_HOLD.lingerMs - this.deps.clock.now());
    this.lingerTimer = this.deps.clock.setTimeout(() => {
      this.lingerTimer = null;
      if (this.closed || this.backlog || this.host.buffered() > 0) return;
      const busy = this.host.busy();
      if (this.held <= busy) return;
      // Worked meanwhile, or a request is out: look again later.
      if (this.asking || (!this.othersWaiting && this.deps.clock.now() - this.workedAt < SLOT_HOLD.lingerMs)) this.idle();
      else void this.ask(busy);
    }, wait);
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
    if (this.closed) return;
    if (this.slots > before) this.host.changed();
    this.idle();
  }
}
