import { describe, expect, it } from 'vitest';
import { Job, Processor } from '../../lib/index.js';
import { until } from '../support/feature-targets.js';
import { OwnPgCluster } from '../support/own-pg-cluster.js';
import { startHealthApp, type HealthApp } from './health-app.js';

@Processor('pg-work')
class PgWorkProcessor {
  @Job('noop')
  noop() {}
}

const missing = await OwnPgCluster.unavailable();
if (missing) console.warn(`\n⚠ Skipping the health test on a PostgreSQL that stops: ${missing}.\n`);

describe.skipIf(missing !== null)('JobsHealthIndicator while PostgreSQL stops and comes back (a cluster this test owns)', () => {
  it('up; down within seconds of the database stopping; up again once it is back', async () => {
    const cluster = await OwnPgCluster.create();
    let h: HealthApp | null = null;
    try {
      h = await startHealthApp(
        { storage: { type: 'postgres', url: cluster.url, poolSize: 2 }, pollIntervalMs: 200 },
        { timeoutMs: 1_000 },
        [PgWorkProcessor],
      );
      const first = await h.get();
      expect(first.status).toBe(200);
      expect(first.body.info!.jobs).toMatchObject({ status: 'up', workers: { state: 'running' } });

      await cluster.stop();
      const stoppedAt = Date.now();
      let down: Awaited<ReturnType<HealthApp['get']>> | null = null;
      await until(async () => {
        const res = await h!.get();
        if (res.status === 503) down = res;
        return down !== null;
      }, 15_000, 'the health check to report the jobs down');
      const reportedDownAfterMs = Date.now() - stoppedAt;
      expect(reportedDownAfterMs).toBeLessThan(10_000);
      expect(down!.body.error!.jobs!.message).toMatch(/^the job storage (did not answer within 1000 ms|failed: )/);

      await cluster.start();
      await until(async () => (await h!.get()).status === 200, 30_000, 'the health check to report the jobs up again');
      const back = await h.get();
      expect(back.body.info!.jobs).toMatchObject({ status: 'up', workers: { state: 'running' } });
      console.info(`health: down ${reportedDownAfterMs} ms after the database stopped`);
    } finally {
      await h?.app.close().catch(() => undefined);
      await cluster.destroy();
    }
  }, 90_000);
});
