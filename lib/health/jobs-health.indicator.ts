import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { OldestAvailable, QueueStats } from '../core/storage.js';
import type { WorkerStatus } from '../core/worker-status.js';
import { QueueService } from '../nest/queue.service.js';
import { JOBS_HEALTH_OPTIONS, resolveCheckOptions, type JobsHealthCheckOptions, type JobsHealthModuleOptions } from './health-options.js';

/** One queue in the indicator's details. */
export interface QueueHealth {
  available: number;
  scheduled: number;
  running: number;
  dead: number;
  paused: boolean;
  /** How long the oldest available job has waited since it fell due; 0 when none waits. */
  oldestAgeMs: number;
}

class StorageTimeout extends Error {}

/**
 * A Terminus health indicator for the jobs: down when the job storage does not answer within
 * the timeout, when this instance's workers are not running (stopped, or no longer renewing
 * their leases), or when a queue passes a threshold; up otherwise. Either way its details
 * give the workers' state and per-queue counts.
 *
 * ```ts
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.jobs.isHealthy('jobs', { maxOldestAgeMs: 60_000 })]); }
 * ```
 */
@Injectable()
export class JobsHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly queue: QueueService,
    @Inject(JOBS_HEALTH_OPTIONS) private readonly options: Required<JobsHealthModuleOptions>,
  ) {}

  async isHealthy<const Key extends string = 'jobs'>(key: Key = 'jobs' as Key, options?: JobsHealthCheckOptions): Promise<HealthIndicatorResult<Key>> {
    const check = resolveCheckOptions(options);
    const indicator = this.indicators.check(key);
    const status = this.queue.workerStatus();
    const workers = { state: status.state, heartbeatAgeMs: status.heartbeatAgeMs };
    const problems = workerProblems(status);
    let queues: Record<string, QueueHealth>;
    try {
      queues = await this.readQueues(check.queues);
    } catch (err) {
      const reason = err instanceof StorageTimeout ? `did not answer within ${this.options.timeoutMs} ms` : `failed: ${err instanceof Error ? err.message : String(err)}`;
      problems.unshift(`the job storage ${reason}`);
      return indicator.down({ message: problems.join('; '), workers });
    }
    for (const [name, q] of Object.entries(queues)) {
      if (check.maxAvailable !== undefined && q.available > check.maxAvailable) {
        problems.push(`queue '${name}' has ${q.available} available jobs (more than ${check.maxAvailable})`);
      }
      if (check.maxOldestAgeMs !== undefined && q.oldestAgeMs > check.maxOldestAgeMs) {
        problems.push(`queue '${name}': its oldest available job has waited ${q.oldestAgeMs} ms (more than ${check.maxOldestAgeMs})`);
      }
    }
    return problems.length ? indicator.down({ message: problems.join('; '), workers, queues }) : indicator.up({ workers, queues });
  }

  /** Counts and oldest ages of the queues, within the timeout (a storage that hangs must not hang the health endpoint). */
  private async readQueues(only: string[] | undefined): Promise<Record<string, QueueHealth>> {
    const read = (async () => {
      const stats = await this.queue.stats();
      const selected: QueueStats[] = only
        ? only.map((queue) => stats.find((s) => s.queue === queue) ?? emptyStats(queue))
        : stats;
      const waiting = selected.filter((s) => s.available > 0).map((s) => s.queue);
      const oldest: OldestAvailable[] = waiting.length ? await this.queue.oldestAvailable(waiting) : [];
      return { selected, oldest };
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StorageTimeout()), this.options.timeoutMs);
    });
    // The read may settle after the timeout: its rejection is handled here, not left unobserved.
    read.catch(() => undefined);
    try {
      const { selected, oldest } = await Promise.race([read, timeout]);
      const ages = new Map(oldest.map((o) => [o.queue, o.ageMs]));
      const out: Record<string, QueueHealth> = {};
      for (const s of selected) {
        out[s.queue] = { available: s.available, scheduled: s.scheduled, running: s.running, dead: s.dead, paused: s.paused, oldestAgeMs: ages.get(s.queue) ?? 0 };
      }
      return out;
    } finally {
      clearTimeout(timer);
    }
  }
}

function emptyStats(queue: string): QueueStats {
  const none = { lastHour: 0, today: 0, thisMonth: 0, allTime: 0 };
  return { queue, waiting: 0, available: 0, scheduled: 0, running: 0, dead: 0, paused: false, completed: none, died: { ...none } };
}

/** What is wrong with this instance's workers: not running, or no longer renewing their leases. */
function workerProblems(status: WorkerStatus): string[] {
  if (status.state === 'disabled') return [];
  if (status.state !== 'running') return [`this instance's workers are ${status.state}`];
  if (status.heartbeatAgeMs !== null && status.heartbeatAgeMs > status.leaseMs) {
    return [`this instance's workers have not renewed their leases for ${status.heartbeatAgeMs} ms (lease ${status.leaseMs} ms)`];
  }
  return [];
}
