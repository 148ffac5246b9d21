import { assertGroup, type QueueLimits, type StoredQueueLimits } from '../../core/limits.js';
import { assertSlotRequest, type SlotGrant, type SlotRequest } from '../../core/slots.js';
import { assertName } from '../../core/validation.js';
import { limitFlows } from './dialects/limit-flows.js';
import { LimitedQueues } from './limited-queues.js';
import { TypeOrmFlowStorage } from './typeorm-flow-storage.js';

/**
 * Queue limits on TypeORM (see `dialects/limit-flows.ts`): stored limits and blocks, and which
 * queues have them, so that `TypeOrmStorage`'s claims of those queues take the limited flow.
 */
export abstract class TypeOrmLimitStorage extends TypeOrmFlowStorage {
  /** Queues with limits: their claims take the limited flow (see `dialects/limit-statements.ts`). */
  protected readonly limited = new LimitedQueues(() => this.limits());

  async setLimits(queue: string, limits: QueueLimits): Promise<void> {
    await this.run(limitFlows(this.dialect).set(assertName('queue name', queue), limits));
    this.limited.touched(queue);
    this.signals.wake(queue);
  }

  isLimited(queue: string): boolean {
    return this.limited.known(queue);
  }

  /**
   * A queue whose cached limits show no global concurrency is answered without a round trip
   * (null); a release (want and keep 0) always reaches the database, so that a hold left from
   * an earlier limit goes.
   */
  async holdSlots(queue: string, workerId: string, request: SlotRequest): Promise<SlotGrant | null> {
    assertName('queue name', queue);
    assertSlotRequest(request);
    const release = request.want === 0 && request.keep === 0;
    if (!release && !(await this.limited.hasGlobalConcurrency(queue))) return null;
    return this.run(limitFlows(this.dialect).holdSlots(queue, workerId, request));
  }

  limits(): Promise<StoredQueueLimits[]> {
    return this.run(limitFlows(this.dialect).list());
  }

  async blockQueue(queue: string, ms: number, group?: string | null): Promise<void> {
    const g = group === undefined || group === null ? null : assertGroup('group', group);
    await this.run(limitFlows(this.dialect).block(assertName('queue name', queue), Math.max(0, Math.round(ms)), g));
    this.limited.touched(queue);
  }
}
