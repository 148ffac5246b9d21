import type { INestApplication } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { Job, MaxRetries, Processor, QueueService, type JobContext } from '../../lib/index.js';
import { EventLog } from '../fixtures/event-log.js';
import { availableKinds } from '../support/available-kinds.js';
import { openTarget, startInstance, until, type FeatureTarget } from '../support/feature-targets.js';

/** Handlers whose signal was aborted (none should be: every job completes while its lease is held). */
const aborted = new Set<string>();

@Processor({ queue: 'race', maxRetries: MaxRetries.count(0) })
class RaceProcessor {
  @Job('short', { transaction: true })
  async short(payload: { ms: number }, ctx: JobContext) {
    ctx.signal.addEventListener('abort', () => aborted.add(ctx.id));
    await new Promise((r) => setTimeout(r, payload.ms));
    return payload.ms;
  }
}

const JOBS = Number(process.env.JOBS_RACE_JOBS ?? 400);

// A heartbeat whose guarded UPDATE meets the row a job's own transaction is completing waits
// for that commit, then finds the job completed (no longer held by anyone). Many short
// transactional jobs and a heartbeat every 10 ms make that happen many times per run. (Not on
// SQLite: its one connection runs a transactional job's work and commit alone, and a heartbeat
// queues behind them in-process; the 400 jobs would take 16 s one after the other.)
for (const kind of (await availableKinds()).filter((k) => k !== 'sqlite')) {
  describe(`heartbeats racing the commits of transactional jobs: ${kind}`, () => {
    let target: FeatureTarget;
    let app: INestApplication | undefined;
    afterEach(async () => {
      await app?.close();
      app = undefined;
      await target.cleanup();
      aborted.clear();
    });

    it('report no lease lost: each job completes once and no handler is aborted', async () => {
      target = await openTarget(kind);
      app = await startInstance(target, [RaceProcessor], {
        queues: { race: { concurrency: 8 } },
        leaseMs: 300,
        heartbeatIntervalMs: 10,
        // One instance and no rescuer: no other worker can take a job, so any lease lost is false.
        rescueIntervalMs: 3_600_000,
      });
      const queue = app.get(QueueService);
      const log = new EventLog(queue.events$);
      const jobs = await queue.enqueueMany(Array.from({ length: JOBS }, (_, i) => ({ name: 'short', payload: { ms: 20 + (i % 41) } })));
      await until(() => log.count('completed') + log.count('lease-lost') >= JOBS, 60_000, `${JOBS} jobs to end`);
      log.stop();
      expect(log.of('lease-lost').map((e) => e.jobId)).toEqual([]);
      expect(new Set(log.of('completed').map((e) => e.jobId))).toEqual(new Set(jobs.map((j) => j.id)));
      expect(log.count('completed')).toBe(JOBS);
      expect([...aborted]).toEqual([]);
      const stats = (await queue.stats()).find((s) => s.queue === 'race');
      expect(stats?.completed.allTime).toBe(JOBS);
    });
  });
}
