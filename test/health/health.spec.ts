import { Injectable } from '@nestjs/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidOptionsError, Job, Processor, QueueService } from '../../lib/index.js';
import { JobsHealthIndicator, JobsHealthModule } from '../../lib/health/index.js';
import type { JobsRuntime } from '../../lib/core/jobs-runtime.js';
import { JOBS_RUNTIME } from '../../lib/nest/jobs.constants.js';
import { HealthThresholds, startHealthApp, type HealthApp } from './health-app.js';

@Processor('work')
@Injectable()
class WorkProcessor {
  @Job('noop')
  noop() {}
}

describe('JobsHealthIndicator over HTTP with Terminus (memory storage)', () => {
  const open: HealthApp[] = [];
  const start = async (...args: Parameters<typeof startHealthApp>) => {
    const h = await startHealthApp(...args);
    open.push(h);
    return h;
  };
  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(open.splice(0).map((h) => h.app.close()));
  });

  it('up, with the workers\' state and per-queue counts', async () => {
    const h = await start({ storage: { type: 'memory' } }, null, [WorkProcessor]);
    const queue = h.app.get(QueueService);
    await queue.pause('work');
    await queue.enqueue('noop', {});
    await queue.enqueue('noop', {}, { delay: 60_000 });
    const { status, body } = await h.get();
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.info!.jobs).toMatchObject({
      status: 'up',
      workers: { state: 'running' },
      queues: { work: { available: 1, scheduled: 1, running: 0, dead: 0, paused: true } },
    });
    expect((body.info!.jobs!.queues as { work: { oldestAgeMs: number } }).work.oldestAgeMs).toBeGreaterThanOrEqual(0);
  });

  it('down past a threshold: too many available jobs, or the oldest waiting too long; only the queues asked for', async () => {
    const h = await start({ storage: { type: 'memory' } }, null, [WorkProcessor]);
    const queue = h.app.get(QueueService);
    const thresholds = h.app.get(HealthThresholds);
    await queue.pause('work');
    await queue.enqueue('noop', {});
    await queue.enqueue('noop', {});
    await queue.enqueue('noop', {}, { queue: 'other' });
    thresholds.options = { maxAvailable: 2 };
    expect((await h.get()).status).toBe(200);
    thresholds.options = { maxAvailable: 1 };
    let res = await h.get();
    expect(res.status).toBe(503);
    expect(res.body.error!.jobs!.message).toBe("queue 'work' has 2 available jobs (more than 1)");
    thresholds.options = { maxAvailable: 1, queues: ['other'] };
    res = await h.get();
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.info!.jobs!.queues as object)).toEqual(['other']);
    await new Promise((r) => setTimeout(r, 30));
    thresholds.options = { maxOldestAgeMs: 20 };
    res = await h.get();
    expect(res.status).toBe(503);
    expect(res.body.error!.jobs!.message).toMatch(/queue 'work': its oldest available job has waited \d+ ms \(more than 20\)/);
  });

  it('down when this instance\'s workers have stopped, or no longer renew their leases', async () => {
    const h = await start({ storage: { type: 'memory' }, leaseMs: 300, heartbeatIntervalMs: 100 }, null, [WorkProcessor]);
    const queue = h.app.get(QueueService);
    const status = queue.workerStatus();
    vi.spyOn(queue, 'workerStatus').mockReturnValue({ ...status, heartbeatAgeMs: 1_250 });
    let res = await h.get();
    expect(res.status).toBe(503);
    expect(res.body.error!.jobs!.message).toBe("this instance's workers have not renewed their leases for 1250 ms (lease 300 ms)");
    vi.restoreAllMocks();
    expect((await h.get()).status).toBe(200);
    await h.app.get<JobsRuntime>(JOBS_RUNTIME).stop();
    res = await h.get();
    expect(res.status).toBe(503);
    expect(res.body.error!.jobs).toMatchObject({ message: "this instance's workers are stopped", workers: { state: 'stopped' } });
  });

  it('an instance that only enqueues is up: it has no workers to lose', async () => {
    const h = await start({ storage: { type: 'memory' }, workers: false });
    const res = await h.get();
    expect(res.status).toBe(200);
    expect(res.body.info!.jobs).toMatchObject({ workers: { state: 'disabled' } });
  });

  it('down, within the timeout, when the storage does not answer', async () => {
    const h = await start({ storage: { type: 'memory' } }, { timeoutMs: 200 }, [WorkProcessor]);
    vi.spyOn(h.app.get(QueueService), 'stats').mockReturnValue(new Promise(() => undefined));
    const began = Date.now();
    const res = await h.get();
    expect(Date.now() - began).toBeLessThan(2_000);
    expect(res.status).toBe(503);
    expect(res.body.error!.jobs!.message).toBe('the job storage did not answer within 200 ms');
  });

  it('options are validated, each problem named', async () => {
    expect(() => JobsHealthModule.forRoot({ timeoutMs: 0 })).toThrow(/'timeoutMs'/);
    expect(() => JobsHealthModule.forRoot({ timeout: 5 } as never)).toThrow(InvalidOptionsError);
    const h = await start({ storage: { type: 'memory' }, workers: false });
    const indicator = h.app.get(JobsHealthIndicator);
    await expect(indicator.isHealthy('jobs', { maxAvailable: -1 })).rejects.toThrow(/'maxAvailable'/);
    await expect(indicator.isHealthy('jobs', { queues: 'work' as never })).rejects.toThrow(/'queues'/);
    await expect(indicator.isHealthy('jobs', { queues: ['bad name!'] })).rejects.toThrow(/queue name/);
    await expect(indicator.isHealthy('jobs', { maxAge: 1 } as never)).rejects.toThrow(/unknown option/);
    // The key is the caller's.
    expect(await indicator.isHealthy('background')).toMatchObject({ background: { status: 'up' } });
  });
});
