import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { StorageUnavailableError } from '../../lib/index.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { uniqueName } from '../support/databases.js';
import { until } from '../support/feature-targets.js';
import { OwnPgCluster } from '../support/own-pg-cluster.js';

const job = () => ({ queue: 'q', name: 'job', payload: '{}', priority: 0, maxAttempts: 3 });
const rejection = (op: () => Promise<unknown>): Promise<unknown> => op().then(() => null, (err: unknown) => err);
const sqlstate = (err: unknown) => {
  const cause = (err as { cause?: { code?: unknown; driverError?: { code?: unknown } } }).cause;
  return String(cause?.code ?? cause?.driverError?.code ?? '');
};

const missing = await OwnPgCluster.unavailable();
if (missing) console.warn(`\n⚠ Skipping the PostgreSQL shutdown test: ${missing}.\n`);

describe.skipIf(missing !== null)('a PostgreSQL server that shuts down and comes back (a cluster this test owns)', () => {
  it('shutting down (57P03), then down (ECONNREFUSED): StorageUnavailableError; back up: the storage works again', async () => {
    const cluster = await OwnPgCluster.create();
    const appName = uniqueName('jobs_shutdown');
    const storage = await TypeOrmStorage.fromConfig({ type: 'postgres', url: cluster.url, poolSize: 2, listen: false, applicationName: appName });
    const session = new pg.Client({ connectionString: cluster.url });
    try {
      await storage.init();
      const [stored] = await storage.enqueue([job()]);
      // A session of someone else's keeps a smart shutdown waiting: new connections are refused
      // with "the database system is shutting down" meanwhile.
      await session.connect();
      await cluster.beginSmartShutdown();
      await until(async () => {
        const probe = new pg.Client({ connectionString: cluster.url });
        const refused = await probe.connect().then(() => false, (err: { code?: string }) => err.code === '57P03');
        await probe.end().catch(() => undefined);
        return refused;
      }, 10_000, 'the server to refuse new connections');
      // The storage's own connections go (as a restart ends them); its next ones are refused.
      await session.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [appName]);
      let shuttingDown: unknown = null;
      for (let i = 0; i < 5 && !shuttingDown; i++) {
        const err = await rejection(() => storage.enqueue([job()]));
        expect(err, String(err)).toBeInstanceOf(StorageUnavailableError);
        if (sqlstate(err) === '57P03') shuttingDown = err;
      }
      expect(shuttingDown, 'no enqueue was refused with 57P03').not.toBeNull();
      expect((shuttingDown as Error).message).toMatch(/unreachable or not accepting connections.*retry later \(the database system is shutting down\)/);
      expect(await rejection(() => storage.get(stored!.id))).toBeInstanceOf(StorageUnavailableError);

      await session.end();
      await until(() => cluster.stopped(), 10_000, 'the server to stop');
      const down = await rejection(() => storage.stats());
      expect(down).toBeInstanceOf(StorageUnavailableError);
      expect(sqlstate(down)).toBe('ECONNREFUSED');

      await cluster.start();
      expect(await storage.get(stored!.id)).toMatchObject({ id: stored!.id, state: 'available' });
      expect(await storage.enqueue([job()])).toHaveLength(1);
    } finally {
      await session.end().catch(() => undefined);
      await storage.close();
      await cluster.destroy();
    }
  }, 60_000);
});
