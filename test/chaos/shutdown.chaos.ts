import { afterAll, describe, expect, it } from 'vitest';
import { databaseAvailable, PG_URL } from '../support/databases.js';
import { CHAOS, Random } from './chaos-env.js';
import { FAST_LEASES, runChaos } from './chaos-run.js';
import { schedule, terminateWorkers } from './chaos-steps.js';
import { planJobs, type JobMix } from './producer.js';
import { postgresTarget, type ChaosTarget } from './targets.js';

/** Short jobs, and long ones (0.3–1.5 s) that a shutdown catches running. */
const WITH_LONG_JOBS: JobMix = {
  weights: { plain: 5, flaky: 1, tx: 2, long: 2 },
  ms: { plain: [5, 60], flaky: [5, 60], tx: [5, 40], long: [300, 1500] },
};

if (await databaseAvailable('postgres')) {
  describe('chaos: shutdown under load', () => {
    let target: ChaosTarget | undefined;
    afterAll(async () => {
      await target?.cleanup();
    });

    it(`SIGTERM (app.enableShutdownHooks) to ${CHAOS.sigterms} busy workers: each exits 0 holding no lease, the others finish the rest`, { timeout: 300_000 }, async () => {
      const rnd = new Random(CHAOS.seed + 5);
      target = await postgresTarget(PG_URL);
      const terms = schedule(rnd, CHAOS.sigterms, [2000, 3500], 1000);
      const v = await runChaos({
        name: 'postgres, SIGTERM under load',
        target,
        workers: 3,
        jobs: planJobs(Math.ceil(CHAOS.jobs / 2), WITH_LONG_JOBS, rnd),
        // Running jobs get 300 ms to finish, then are aborted and handed back. A longer lease:
        // a job left leased by a terminated worker must still be found leased right after it exits.
        tuning: { ...FAST_LEASES, leaseMs: 3000, heartbeatIntervalMs: 600, shutdownTimeoutMs: 300, abortGraceMs: 2000 },
        spreadMs: terms.plannedMs,
        rnd,
        chaos: terminateWorkers(terms),
      });
      expect(v.problems).toEqual([]);
    });
  });
}
