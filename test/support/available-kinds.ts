import { databaseAvailable } from './databases.js';
import type { DbKind } from './typeorm-harness.js';

/** SQLite always; PostgreSQL and MariaDB when reachable (see `databaseAvailable`). */
export async function availableKinds(): Promise<DbKind[]> {
  const kinds: DbKind[] = ['sqlite'];
  if (await databaseAvailable('postgres')) kinds.push('postgres');
  if (await databaseAvailable('mariadb')) kinds.push('mariadb');
  return kinds;
}
