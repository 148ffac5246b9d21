import { DataSource } from 'typeorm';

/** MySQL 8.0's default sql_mode (MariaDB's default has neither ONLY_FULL_GROUP_BY nor the NO_ZERO_* modes). */
export const MYSQL8_SQL_MODE = 'ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

interface PoolLike {
  on(event: 'connection', listener: (conn: { query(sql: string): unknown }) => void): void;
  getConnection(cb: (err: Error | null, conn: { destroy(): void }) => void): void;
}

/**
 * An initialised MariaDB DataSource whose every connection runs in MySQL 8's default sql_mode,
 * so statements that only MariaDB's laxer defaults accept fail here.
 */
export async function mysql8ModeDataSource(url: string, poolSize = 4): Promise<DataSource> {
  const ds = new DataSource({ type: 'mariadb', url, poolSize, supportBigNumbers: true, bigNumberStrings: true, timezone: 'Z', charset: 'utf8mb4' });
  await ds.initialize();
  const pool = (ds.driver as unknown as { pool: PoolLike }).pool;
  pool.on('connection', (conn) => conn.query(`SET SESSION sql_mode = '${MYSQL8_SQL_MODE}'`));
  // TypeORM read the server version on a connection made before the hook: close it, so every
  // connection the pool hands out from now on is a new one, in the mode.
  await new Promise<void>((resolve, reject) =>
    pool.getConnection((err, conn) => {
      if (err) return reject(err);
      conn.destroy();
      resolve();
    }),
  );
  const [row] = (await ds.query('SELECT @@SESSION.sql_mode AS mode')) as Array<{ mode: string }>;
  if (row?.mode !== MYSQL8_SQL_MODE) throw new Error(`the DataSource's connections run in sql_mode '${row?.mode}'`);
  return ds;
}
