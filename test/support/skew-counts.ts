import type { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';

/**
 * A contract harness's `skewStateCount` on a TypeORM storage: a count change that no job
 * change goes with, written where the storage's own writes put theirs (SQLite: the counters;
 * PostgreSQL, MariaDB: the delta table, which stats() and recount() read with the counters).
 */
export function counterSkew(storage: TypeOrmStorage) {
  return async (queue: string, event: string, n: number): Promise<void> => {
    const { kind, tables: t } = storage.dialect;
    if (kind === 'sqlite') {
      await storage.dataSource.query(
        `INSERT INTO ${t.counters} (grain, bucket, queue, event, n) VALUES ('s', 0, ?, ?, ?)
         ON CONFLICT (grain, bucket, queue, event) DO UPDATE SET n = n + excluded.n`,
        [queue, event, n],
      );
    } else {
      const marks = kind === 'postgres' ? '$1, $2, 0, $3' : '?, ?, 0, ?';
      await storage.dataSource.query(`INSERT INTO ${t.deltas} (queue, event, bucket, n) VALUES (${marks})`, [queue, event, n]);
    }
  };
}
