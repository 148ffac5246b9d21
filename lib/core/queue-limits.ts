import type { EngineLogger, QueueOptions } from './engine-options.js';
import { assertQueueLimits, describeLimits, sameLimits, type QueueLimits } from './limits.js';
import type { QueueStats, Storage } from './storage.js';
import { assertName } from './validation.js';

/** The queue limits of `JobsModule` options and `QueueService`: validated here, stored (and enforced) by the storage. */
export class QueueLimitsControl {
  constructor(
    private readonly storage: Storage,
    private readonly logger: EngineLogger,
  ) {}

  /**
   * Limits configured for a queue (`globalConcurrency`, `rateLimit` or `groups` in its options) are the
   * ones every instance enforces: when the stored ones differ, they are replaced, and the
   * change is logged. A queue whose options name no limit keeps what is stored (`setLimits`).
   */
  async applyConfigured(queues: Record<string, QueueOptions>): Promise<void> {
    const configured = Object.entries(queues).filter(([, q]) => q.globalConcurrency !== undefined || q.rateLimit !== undefined || q.groups !== undefined);
    if (!configured.length) return;
    const unkept = configured.filter(([, q]) => q.globalConcurrency !== undefined).map(([queue]) => `'${queue}'`);
    if (unkept.length && !this.storage.holdSlots) {
      this.logger.warn(`This storage has no holdSlots(): the globalConcurrency of queue(s) ${unkept.join(', ')} is stored but not kept.`);
    }
    const stored = new Map((await this.storage.limits()).map((l) => [l.queue, l.limits]));
    for (const [queue, q] of configured) {
      const limits = configuredLimits(q);
      const before = stored.get(queue) ?? {};
      if (sameLimits(before, limits)) continue;
      await this.storage.setLimits(queue, limits);
      this.logger.log(`Stored limits of queue '${queue}' changed from ${describeLimits(before)} to ${describeLimits(limits)} (this instance's configuration).`);
    }
  }

  async set(queue: string, limits: unknown): Promise<void> {
    await this.storage.setLimits(assertName('queue name', queue), assertQueueLimits('limits', limits));
  }

  /** The queue's stored limits; `{}` when it has none. */
  async get(queue: string): Promise<QueueLimits> {
    assertName('queue name', queue);
    return (await this.storage.limits()).find((l) => l.queue === queue)?.limits ?? {};
  }

  /** `stats` with each queue's limits and a block still ahead; queues with limits but no jobs yet are listed too. */
  async withLimits(stats: QueueStats[]): Promise<QueueStats[]> {
    const [stored, now] = await Promise.all([this.storage.limits(), this.storage.now()]);
    const byQueue = new Map(stats.map((s) => [s.queue, s]));
    for (const l of stored) {
      let s = byQueue.get(l.queue);
      if (!s) {
        s = emptyStats(l.queue);
        byQueue.set(l.queue, s);
        stats.push(s);
      }
      if (Object.keys(l.limits).length) s.limits = l.limits;
      if (l.blockedUntil && l.blockedUntil.getTime() > now) s.blockedUntil = l.blockedUntil;
    }
    return stats;
  }
}

function configuredLimits(q: QueueOptions): QueueLimits {
  const limits: QueueLimits = {};
  if (q.globalConcurrency !== undefined) limits.globalConcurrency = q.globalConcurrency;
  if (q.rateLimit !== undefined) limits.rateLimit = { ...q.rateLimit };
  if (q.groups !== undefined) limits.groups = structuredClone(q.groups);
  return limits;
}

const zero = () => ({ lastHour: 0, today: 0, thisMonth: 0, allTime: 0 });

function emptyStats(queue: string): QueueStats {
  return { queue, waiting: 0, available: 0, scheduled: 0, running: 0, dead: 0, paused: false, completed: zero(), died: zero() };
}
