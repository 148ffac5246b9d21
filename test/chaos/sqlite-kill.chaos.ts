import { afterAll, describe, expect, it } from 'vitest';
import { CHAOS, Random } from './chaos-env.js';
import { FAST_LEASES, runChaos } from './chaos-run.js';
import { killWorkers, schedule } from './chaos-steps.js';
import { planJobs, SHORT_JOBS } from './producer.js';
import { sqliteTarget, type ChaosTarget } from './targets.js';

describe('chaos: SQLite, kill -9', () => {
  let target: ChaosTarget | undefined;
  afterAll(async () => {
    await target?.cleanup();
  });

  it(`3 workers on one SQLite file (WAL), ${CHAOS.jobs} jobs, ${CHAOS.kills} SIGKILLs: none lost, reruns only after a kill, the file intact`, { timeout: 300_000 }, async () => {
    const rnd = new Random(CHAOS.seed + 2);
    target = await sqliteTarget();
    const kills = schedule(rnd, CHAOS.kills, [1500, 3500], 300);
    const v = await runChaos({
      name: 'sqlite, kill -9',
      target,
      workers: 3,
      jobs: planJobs(CHAOS.jobs, SHORT_JOBS, rnd),
      // No NOTIFY between processes on SQLite: a shorter poll.
      tuning: { ...FAST_LEASES, pollIntervalMs: 100 },
      spreadMs: kills.plannedMs,
      rnd,
      chaos: killWorkers(kills),
    });
    expect(v.problems).toEqual([]);
    expect(await target.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
  });
});
