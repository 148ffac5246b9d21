import { ConflictException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import type { JobRecord } from '../core/job-record.js';
import { JobNotFoundError } from '../errors/job-not-found.error.js';
import { QueueService } from '../nest/queue.service.js';
import type { BulkAction } from './dashboard-input.js';
import { JobsDashboardEvents, type DashboardActionEvent, type DashboardActionType } from './jobs-dashboard.events.js';

/** Who asked, as `whoIs` reads it off the request. */
export interface Actor {
  user: string;
  ip: string;
}

export interface BulkOutcome {
  id: string;
  ok: boolean;
  state?: string;
  error?: string;
}

const RETRYABLE = new Set(['dead', 'cancelled', 'completed']);
const WAITING = new Set(['scheduled', 'retryable', 'available']);

/**
 * The dashboard's actions: each is one `QueueService` call, then an audit line in the Nest
 * log and an event on `JobsDashboardEvents`. No queueing rule lives here beyond refusing, with
 * a 409, a change the job's state does not allow.
 */
@Injectable()
export class DashboardActions {
  private readonly logger = new Logger('JobsDashboard');

  constructor(
    private readonly queues: QueueService,
    private readonly events: JobsDashboardEvents,
  ) {}

  async retry(actor: Actor, id: string): Promise<JobRecord> {
    const job = await this.retryOne(id);
    this.audit(actor, 'retry', { jobIds: [id], queue: job.queue, affected: 1 });
    return job;
  }

  async cancel(actor: Actor, id: string): Promise<JobRecord> {
    const job = await this.cancelOne(id);
    this.audit(actor, 'cancel', { jobIds: [id], queue: job.queue, affected: 1 });
    return job;
  }

  /** A job waiting for its run time (scheduled, or a retry in its backoff) runs now. */
  async runNow(actor: Actor, id: string): Promise<JobRecord> {
    const before = await this.existing(id);
    if (!WAITING.has(before.state)) throw new ConflictException(`Job ${id} is ${before.state}: only scheduled or retryable jobs can be run now.`);
    const job = await this.notFoundAs404(() => this.queues.runNow(id));
    this.audit(actor, 'run-now', { jobIds: [id], queue: job.queue, affected: 1 });
    return job;
  }

  async bulk(actor: Actor, action: BulkAction, ids: string[]): Promise<BulkOutcome[]> {
    const results: BulkOutcome[] = [];
    for (const id of ids) {
      try {
        const job = action === 'retry' ? await this.retryOne(id) : await this.cancelOne(id);
        results.push({ id, ok: true, state: job.state });
      } catch (e) {
        if (!(e instanceof NotFoundException || e instanceof ConflictException)) throw e;
        results.push({ id, ok: false, error: e.message });
      }
    }
    const done = results.filter((r) => r.ok).map((r) => r.id);
    this.audit(actor, action === 'retry' ? 'bulk-retry' : 'bulk-cancel', { jobIds: done, affected: done.length });
    return results;
  }

  async pause(actor: Actor, queue: string): Promise<void> {
    await this.queues.pause(queue);
    this.audit(actor, 'pause', { queue, affected: 0 });
  }

  async resume(actor: Actor, queue: string): Promise<void> {
    await this.queues.resume(queue);
    this.audit(actor, 'resume', { queue, affected: 0 });
  }

  async retryDead(actor: Actor, queue: string): Promise<number> {
    const n = await this.queues.retryAll({ queue, state: 'dead' });
    this.audit(actor, 'retry-dead', { queue, affected: n });
    return n;
  }

  /** Deletes the completed jobs of `queue` finished before `olderThan`. */
  async prune(actor: Actor, queue: string, olderThan: Date): Promise<number> {
    const n = await this.queues.prune({ olderThan, states: ['completed'], queue });
    this.audit(actor, 'prune', { queue, affected: n });
    return n;
  }

  private async retryOne(id: string): Promise<JobRecord> {
    const before = await this.existing(id);
    if (!RETRYABLE.has(before.state)) {
      throw new ConflictException(`Job ${id} is ${before.state}: only dead, cancelled or completed jobs can be retried.`);
    }
    const job = await this.notFoundAs404(() => this.queues.retry(id));
    // A flow parent that ended while it waited for its children waits for them again (see QueueService.retry).
    if (job.state !== 'available' && job.state !== 'waiting') throw new ConflictException(`Job ${id} is ${job.state} and was not retried.`);
    return job;
  }

  private async cancelOne(id: string): Promise<JobRecord> {
    const job = await this.notFoundAs404(() => this.queues.cancel(id));
    if (job.state !== 'cancelled' && !job.cancelRequested) {
      throw new ConflictException(`Job ${id} is ${job.state}: only scheduled, available, retryable or running jobs can be cancelled.`);
    }
    return job;
  }

  private async existing(id: string): Promise<JobRecord> {
    const job = await this.queues.getJob(id);
    if (!job) throw new NotFoundException(`No job with id '${id}' exists (it may have been pruned).`);
    return job;
  }

  private async notFoundAs404<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      if (e instanceof JobNotFoundError) throw new NotFoundException(e.message);
      throw e;
    }
  }

  private audit(actor: Actor, action: DashboardActionType, what: Omit<DashboardActionEvent, 'action' | 'user' | 'ip' | 'at'>): void {
    const target = what.jobIds ? `job${what.jobIds.length === 1 ? '' : 's'} ${what.jobIds.join(', ') || '(none)'}` : `queue ${what.queue}`;
    this.logger.log(`${actor.user} (${actor.ip}) ${action}: ${target}${what.affected > 1 ? ` (${what.affected})` : ''}`);
    this.events.emit({ action, user: actor.user, ip: actor.ip, ...what, at: Date.now() });
  }
}
