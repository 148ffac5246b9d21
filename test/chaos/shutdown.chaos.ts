import { afterEach, describe, expect, it } from 'vitest';
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
    afterEach(async () => {
      await target?.cleanup();
      target = undefined;
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
        chaos: terminateWorkers(terms, true),
      });
      expect(v.problems).toEqual([]);
    });

    /**
     * Off by default (CHAOS_ANYTIME_SIGTERMS=60 runs it; minutes). A SIGTERM that lands while a
     * claim is in flight leaves that claim's jobs leased to the exited worker: QueueRunner
     * releases them without awaiting it, after stop() has returned and the storage has
     * closed, and swallows the failure; they wait a lease for the rescuer and lose an attempt.
     * Seen here once in about 120 such SIGTERMs (reported with a deterministic reproduction);
     * this test can become a default once lib/ awaits that hand-back.
     */
    it.runIf(CHAOS.anytimeSigterms > 0)(`SIGTERM at any moment, idle or claiming (${CHAOS.anytimeSigterms} times): each exits 0 holding no lease`, { timeout: 600_000 }, async () => {
      const rnd = new Random(CHAOS.seed + 6);
      target = await postgresTarget(PG_URL);
      const terms = schedule(rnd, CHAOS.anytimeSigterms, [300, 1500]);
      const v = await runChaos({
        name: 'postgres, SIGTERM at any moment',
        target,
        workers: 3,
        jobs: planJobs(CHAOS.jobs * 3, { weights: { plain: 1 }, ms: { plain: [1, 5] } }, rnd),
        // Many tiny jobs and a deep buffer: claims are frequent, so a SIGTERM often meets one.
        tuning: { ...FAST_LEASES, concurrency: 10, prefetch: 20, leaseMs: 5000, heartbeatIntervalMs: 1000 },
        spreadMs: terms.plannedMs,
        rnd,
        chaos: terminateWorkers(terms, false),
      });
      expect(v.problems).toEqual([]);
    });
  });
}
