import { InvalidOptionsError } from '../../../errors/invalid-options.error.js';
import { StorageUnavailableError } from '../../../errors/storage-unavailable.error.js';

/**
 * Which statements a MySQL-family server gets, chosen once at start-up from `VERSION()`:
 * - `returning`: MariaDB 10.6+. Enqueue, the hand-off and prune read the rows they wrote
 *   back through `INSERT … RETURNING` / `DELETE … RETURNING`.
 * - `no-returning`: MySQL 8.0.4+ (SKIP LOCKED from 8.0.1, JSON_TABLE from 8.0.4; 8.0.11 was the
 *   first GA release). No RETURNING of any kind: inserted ids come
 *   from `LAST_INSERT_ID()`, prune locks its batch first (see `mysql-no-returning.ts`), and the
 *   migrations avoid MariaDB-only DDL (see `mysql.migrations.ts`).
 */
export type MysqlPath = 'returning' | 'no-returning';

/**
 * Internal switch, not public API: `no-returning` makes a MariaDB server take the MySQL 8
 * statements, so the contract and multi-process suites verify that path on MariaDB (no MySQL
 * server is needed to run them). Read at each storage's start-up.
 */
export const MYSQL_PATH_ENV = 'JOBS_INTERNAL_MYSQL_PATH';

/** What start-up reads from the server: `SELECT VERSION() AS v, @@auto_increment_increment AS inc`. */
export interface MysqlServerInfo {
  version: string;
  autoIncrementIncrement: number;
}

/** The path forced through `JOBS_INTERNAL_MYSQL_PATH`, if any; any other value than `no-returning` is refused. */
export function forcedMysqlPath(env: Record<string, string | undefined>): MysqlPath | null {
  const value = env[MYSQL_PATH_ENV];
  if (value === undefined || value === '') return null;
  if (value !== 'no-returning') {
    throw new InvalidOptionsError(MYSQL_PATH_ENV, `expected 'no-returning' or unset, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * The path for this server, or a clear refusal: MariaDB before 10.6 (SKIP LOCKED, JSON_TABLE),
 * MySQL before 8.0.4 (SKIP LOCKED, JSON_TABLE), and the no-RETURNING path with `auto_increment_increment`
 * other than 1, where the ids of one multi-row INSERT are not consecutive.
 */
export function mysqlPathFor(server: MysqlServerInfo, forced: MysqlPath | null = null): MysqlPath {
  const { version } = server;
  // MariaDB may report itself behind the `5.5.5-` prefix it gives old clients.
  const [major = 0, minor = 0, patch = 0] = (version.replace(/^5\.5\.5-(?=\d+\.\d+\.\d+-MariaDB)/i, '').match(/^(\d+)\.(\d+)\.(\d+)/) ?? [])
    .slice(1)
    .map(Number);
  const atLeast = (M: number, m: number, p: number) => major !== M ? major > M : minor !== m ? minor > m : patch >= p;
  let path: MysqlPath;
  if (/mariadb/i.test(version)) {
    if (!atLeast(10, 6, 0)) {
      throw new StorageUnavailableError(`MariaDB ${version} is too old: the job storage needs MariaDB 10.6 or later (SKIP LOCKED, JSON_TABLE)`);
    }
    path = forced ?? 'returning';
  } else {
    if (!atLeast(8, 0, 4)) {
      throw new StorageUnavailableError(
        `MySQL ${version || '(unknown version)'} is too old: the job storage needs MySQL 8.0.4 or later (FOR UPDATE SKIP LOCKED, JSON_TABLE), ` +
          'or MariaDB 10.6 or later',
      );
    }
    path = 'no-returning';
  }
  if (path === 'no-returning' && server.autoIncrementIncrement !== 1) {
    throw new StorageUnavailableError(
      `the server's auto_increment_increment is ${server.autoIncrementIncrement}; the job storage on ${/mariadb/i.test(version) ? 'MariaDB' : 'MySQL'} ${version} ` +
        'reads the ids of a multi-row INSERT from LAST_INSERT_ID() and needs it to be 1 (consecutive ids). ' +
        'Set auto_increment_increment = 1 for the job storage\'s connections (e.g. in the server configuration)',
    );
  }
  return path;
}
