import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../lib/errors/invalid-options.error.js';
import { StorageUnavailableError } from '../../lib/errors/storage-unavailable.error.js';
import type { InsertRow } from '../../lib/storage/typeorm/dialect.js';
import { assertStoredInOrder } from '../../lib/storage/typeorm/dialects/mysql-no-returning.js';
import { forcedMysqlPath, mysqlPathFor, MYSQL_PATH_ENV } from '../../lib/storage/typeorm/dialects/mysql-path.js';
import { isLockConflict } from '../../lib/storage/typeorm/executors/typeorm.executor.js';

const server = (version: string, autoIncrementIncrement = 1) => ({ version, autoIncrementIncrement });

describe('the MariaDB / MySQL statement path, from the server version', () => {
  it.each(['10.11.19-MariaDB', '10.11.19-MariaDB-0+deb12u1', '11.4.2-MariaDB-log', '10.6.0-MariaDB', '5.5.5-10.11.6-MariaDB'])(
    "MariaDB %s takes the RETURNING path",
    (version) => expect(mysqlPathFor(server(version))).toBe('returning'),
  );

  it.each(['8.0.4', '8.0.11', '8.0.36', '8.0.36-0ubuntu0.22.04.1', '8.4.3', '9.1.0', '8.0.28-google'])(
    'MySQL %s takes the no-RETURNING path',
    (version) => expect(mysqlPathFor(server(version))).toBe('no-returning'),
  );

  it.each(['5.7.44', '5.7.44-log', '8.0.0', '8.0.3', '5.6.51', ''])('MySQL %j is refused, naming the version and what is needed', (version) => {
    const err = (() => {
      try {
        mysqlPathFor(server(version));
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(StorageUnavailableError);
    expect((err as Error).message).toContain(`MySQL ${version || '(unknown version)'} is too old`);
    expect((err as Error).message).toContain('MySQL 8.0.4 or later');
  });

  it.each(['10.5.23-MariaDB', '10.4.32-MariaDB'])('MariaDB %s is refused (10.6 is needed)', (version) => {
    expect(() => mysqlPathFor(server(version))).toThrow(/MariaDB .* is too old: the job storage needs MariaDB 10.6 or later/);
  });

  it('MySQL with auto_increment_increment other than 1 is refused, saying which setting to change', () => {
    expect(() => mysqlPathFor(server('8.0.36', 2))).toThrow(StorageUnavailableError);
    expect(() => mysqlPathFor(server('8.4.3', 7))).toThrow(/auto_increment_increment is 7.*needs it to be 1/);
  });

  it('MariaDB keeps RETURNING whatever its increment; forced onto the no-RETURNING path, it is checked the same way', () => {
    expect(mysqlPathFor(server('10.11.19-MariaDB', 2))).toBe('returning');
    expect(mysqlPathFor(server('10.11.19-MariaDB'), 'no-returning')).toBe('no-returning');
    expect(() => mysqlPathFor(server('10.11.19-MariaDB', 2), 'no-returning')).toThrow(/auto_increment_increment is 2/);
  });

  it(`${MYSQL_PATH_ENV} forces the path; any other value than no-returning is refused`, () => {
    expect(forcedMysqlPath({})).toBeNull();
    expect(forcedMysqlPath({ [MYSQL_PATH_ENV]: '' })).toBeNull();
    expect(forcedMysqlPath({ [MYSQL_PATH_ENV]: 'no-returning' })).toBe('no-returning');
    expect(() => forcedMysqlPath({ [MYSQL_PATH_ENV]: 'mysql8' })).toThrow(InvalidOptionsError);
    expect(() => forcedMysqlPath({ [MYSQL_PATH_ENV]: 'returning' })).toThrow(/expected 'no-returning' or unset/);
  });
});

describe('ids of a multi-row INSERT read back from LAST_INSERT_ID()', () => {
  const row = (queue: string, uniqueKey: string | null = null) => ({ queue, uniqueKey }) as InsertRow;
  const stored = (queue: string, key: string | null = null) => ({ queue, unique_key: key });

  it('accepts the rows in VALUES order less the keyed rows IGNORE skipped', () => {
    const given = [row('a', 'k1'), row('a'), row('b', 'k2'), row('b', 'k3'), row('a')];
    expect(() => assertStoredInOrder(given, [stored('a'), stored('b', 'k3'), stored('a')], 3)).not.toThrow();
    expect(() => assertStoredInOrder(given, given.map((r) => stored(r.queue, r.uniqueKey)), 5)).not.toThrow();
    expect(() => assertStoredInOrder([row('a', 'k1')], [], 0)).not.toThrow();
  });

  it('refuses rows that are not ours: a skipped row without a key, another order, a foreign row, a short read', () => {
    const given = [row('a'), row('a', 'k1'), row('b')];
    expect(() => assertStoredInOrder(given, [stored('a', 'k1'), stored('b')], 2)).toThrow(/consecutive ids/);
    expect(() => assertStoredInOrder(given, [stored('b'), stored('a', 'k1'), stored('a')], 3)).toThrow(/consecutive ids/);
    expect(() => assertStoredInOrder(given, [stored('a'), stored('a', 'other'), stored('b')], 3)).toThrow(/consecutive ids/);
    expect(() => assertStoredInOrder(given, [stored('a'), stored('a', 'k1')], 3)).toThrow(/consecutive ids/);
    expect(() => assertStoredInOrder([row('a'), row('a')], [stored('a'), stored('z')], 2)).toThrow(/consecutive ids/);
  });
});

describe('lock conflicts a step is run again for', () => {
  const err = (driverError: object) => Object.assign(new Error('x'), { driverError });
  it('deadlocks and lock wait timeouts, not other errors', () => {
    expect(isLockConflict(err({ code: 'ER_LOCK_DEADLOCK', errno: 1213 }))).toBe(true);
    expect(isLockConflict(err({ code: 'ER_LOCK_WAIT_TIMEOUT', errno: 1205 }))).toBe(true);
    expect(isLockConflict(err({ code: '40P01' }))).toBe(true);
    expect(isLockConflict(err({ code: 'ER_DUP_ENTRY', errno: 1062 }))).toBe(false);
    expect(isLockConflict(new Error('plain'))).toBe(false);
  });
});
