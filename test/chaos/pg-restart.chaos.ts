import { afterAll, describe, expect, it } from 'vitest';
import { CHAOS, IN_CI, Random } from './chaos-env.js';
import { FAST_LEASES, runChaos } from './chaos-run.js';
import { restartDatabase, schedule } from './chaos-steps.js';
import { OwnPostgres } from './own-postgres.js';
import { planJobs, SHORT_JOBS } from './producer.js';
import { postgresTarget, type ChaosTarget } from './targets.js';

/** A cluster of the suite's own (never the shared server on 5432), stopped and started under the workers. */
const bin = OwnPostgres.binaries();
if (!bin && !IN_CI) console.warn('\n⚠ Skipping the PostgreSQL restart chaos test: no initdb/pg_ctl (set CHAOS_PG_BIN).\n');

describe.skipIf(!bin && !IN_CI)('chaos: PostgreSQL restart', () => {
  let db: OwnPostgres | undefined;
  let target: ChaosTarget | undefined;
  afterAll(async () => {
    try {
      await target?.cleanup();
    } catch {
      // The cluster may be down (the test failed mid-outage): it is removed whole below.
    } finally {
      await db?.destroy();
    }
  });

  it(`3 workers while their PostgreSQL is stopped and started ${CHAOS.restarts} times (fast, immediate): enqueues retried, every job processed`, { timeout: 300_000 }, async () => {
    if (!bin) throw new Error('initdb/pg_ctl not found under /usr/lib/postgresql/*/bin (set CHAOS_PG_BIN); required under CI=true');
    const rnd = new Random(CHAOS.seed + 3);
    db = await OwnPostgres.create(bin);
    target = await postgresTarget(db.url);
    const restarts = schedule(rnd, CHAOS.restarts, [2500, 4000], 4000);
    const v = await runChaos({
      name: `postgres restart (own cluster on ${db.port})`,
      target,
      workers: 3,
      jobs: planJobs(CHAOS.jobs, SHORT_JOBS, rnd),
      tuning: FAST_LEASES,
      spreadMs: restarts.plannedMs,
      rnd,
      // Outages longer than the lease: the workers' leases lapse while the database is away.
      chaos: restartDatabase(restarts, db, [2500, 4000]),
    });
    expect(v.problems).toEqual([]);
  });
});
