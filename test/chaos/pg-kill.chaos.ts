import { afterAll, describe, expect, it } from 'vitest';
import { databaseAvailable, PG_URL } from '../support/databases.js';
import { CHAOS, Random } from './chaos-env.js';
import { FAST_LEASES, runChaos } from './chaos-run.js';
import { killWorkers, schedule } from './chaos-steps.js';
import { planJobs, SHORT_JOBS } from './producer.js';
import { postgresTarget, type ChaosTarget } from './targets.js';

if (await databaseAvailable('postgres')) {
  describe('chaos: PostgreSQL, kill -9', () => {
    let target: ChaosTarget | undefined;
    afterAll(async () => {
      await target?.cleanup();
    });

    it(`4 workers on one schema, ${CHAOS.jobs} jobs, a SIGKILL every few seconds (${CHAOS.kills}): none lost, reruns only after a kill, rescue within the lease`, { timeout: 300_000 }, async () => {
      const rnd = new Random(CHAOS.seed + 1);
      target = await postgresTarget(PG_URL);
      const kills = schedule(rnd, CHAOS.kills, [1500, 3500], 300);
      const v = await runChaos({
        name: 'postgres, kill -9',
        target,
        workers: 4,
        jobs: planJobs(CHAOS.jobs, SHORT_JOBS, rnd),
        tuning: FAST_LEASES,
        spreadMs: kills.plannedMs,
        rnd,
        chaos: killWorkers(kills),
      });
      expect(v.problems).toEqual([]);
    });
  });
}
