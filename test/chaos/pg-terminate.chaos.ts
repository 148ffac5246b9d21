import { afterAll, describe, expect, it } from 'vitest';
import type { ServerStorageConfig } from '../../lib/index.js';
import { databaseAvailable, PG_URL } from '../support/databases.js';
import { CHAOS, Random } from './chaos-env.js';
import { FAST_LEASES, runChaos } from './chaos-run.js';
import { schedule, terminateConnections } from './chaos-steps.js';
import { planJobs, SHORT_JOBS } from './producer.js';
import { postgresTarget, type ChaosTarget } from './targets.js';

if (await databaseAvailable('postgres')) {
  describe('chaos: PostgreSQL connections killed', () => {
    let target: ChaosTarget | undefined;
    afterAll(async () => {
      await target?.cleanup();
    });

    it(`3 workers whose sessions are pg_terminate_backend'ed ${CHAOS.terminations} times: none lost, reruns only after a cut`, { timeout: 300_000 }, async () => {
      const rnd = new Random(CHAOS.seed + 4);
      target = await postgresTarget(PG_URL);
      const cuts = schedule(rnd, CHAOS.terminations, [1500, 3000]);
      const { applicationName } = target.workerStorage as ServerStorageConfig;
      const v = await runChaos({
        name: 'postgres, connections terminated',
        target,
        workers: 3,
        jobs: planJobs(CHAOS.jobs, SHORT_JOBS, rnd),
        tuning: FAST_LEASES,
        spreadMs: cuts.plannedMs,
        rnd,
        chaos: terminateConnections(cuts, PG_URL, applicationName!),
      });
      expect(v.problems).toEqual([]);
    });
  });
}
