import { StorageUnavailableError } from '../../../errors/storage-unavailable.error.js';
import type { DialectKind } from '../table-names.js';

/**
 * Which driver errors mean "the database cannot serve us right now" (unreachable, restarting,
 * out of connections, busy, not writable) rather than a mistake in a statement. Those surface
 * as `StorageUnavailableError`, with the driver's error as `cause`, so callers catch one class
 * and retry; everything else (syntax, constraint violations, …) surfaces as it is.
 */

/** Socket errors of Node itself, whichever driver met them. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN',
  'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs: class 08 (connection exception); 57P01 admin_shutdown (the server is
 * stopping, or pg_terminate_backend), 57P02 crash_shutdown, 57P03 cannot_connect_now
 * (starting up or shutting down); 53300 too_many_connections.
 */
const PG_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
/** node-pg and pg-pool raise these without a code when the socket goes away. */
const PG_MESSAGES = [
  /^Connection terminated/,
  /^Client has encountered a connection error and is not queryable/,
  /^timeout exceeded when trying to connect/,
];

/**
 * MySQL / MariaDB (mysql2): the connection was lost or refused, or the server is shutting down
 * or out of connections. MariaDB's 1927 (connection killed) has no name in mysql2's table.
 */
const MYSQL_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR', 'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_SERVER_SHUTDOWN', 'ER_NORMAL_SHUTDOWN', 'ER_SHUTDOWN_COMPLETE', 'ER_CONNECTION_KILLED',
]);
const MYSQL_ERRNOS = new Set([1040, 1053, 1077, 1079, 1203, 1927]);

/** SQLite (better-sqlite3): the write lock stayed taken past the busy timeout. */
const SQLITE_BUSY = /^SQLITE_BUSY/;
/** SQLite: the file cannot be opened or written (read-only, missing, I/O error, disk full). */
const SQLITE_UNWRITABLE = /^(SQLITE_READONLY|SQLITE_CANTOPEN|SQLITE_IOERR)|^SQLITE_FULL$/;

interface DriverErrorLike {
  code?: unknown;
  errno?: unknown;
  fatal?: unknown;
  message?: unknown;
  driverError?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/** The error, TypeORM's wrapped driver error, its cause, and an AggregateError's errors. */
function* layers(err: unknown, depth = 0): Generator<DriverErrorLike> {
  if (err === null || typeof err !== 'object' || depth > 3) return;
  const e = err as DriverErrorLike;
  yield e;
  yield* layers(e.driverError, depth + 1);
  yield* layers(e.cause, depth + 1);
  if (Array.isArray(e.errors)) for (const inner of e.errors) yield* layers(inner, depth + 1);
}

type Unavailability = 'server' | 'sqlite-busy' | 'sqlite-unwritable';

function unavailability(kind: DialectKind, err: unknown): Unavailability | null {
  for (const e of layers(err)) {
    const code = typeof e.code === 'string' ? e.code : '';
    const message = typeof e.message === 'string' ? e.message : '';
    if (SOCKET_CODES.has(code)) return 'server';
    if (kind === 'postgres') {
      if (code.startsWith('08') || PG_STATES.has(code) || PG_MESSAGES.some((m) => m.test(message))) return 'server';
    } else if (kind === 'mysql') {
      // mysql2 marks errors that end the connection `fatal` (lost, closed, handshake refused).
      if (MYSQL_CODES.has(code) || MYSQL_ERRNOS.has(e.errno as number) || e.fatal === true) return 'server';
    } else {
      if (SQLITE_BUSY.test(code)) return 'sqlite-busy';
      if (SQLITE_UNWRITABLE.test(code)) return 'sqlite-unwritable';
    }
  }
  return null;
}

const SERVER_NAMES: Record<DialectKind, string> = { postgres: 'PostgreSQL', mysql: 'MySQL/MariaDB', sqlite: 'SQLite' };

/**
 * `err` as a `StorageUnavailableError` when it says the database cannot serve us now (see
 * above); `err` itself otherwise (and when it already is one).
 */
export function asUnavailable(kind: DialectKind, err: unknown): unknown {
  if (err instanceof StorageUnavailableError) return err;
  switch (unavailability(kind, err)) {
    case 'server':
      return new StorageUnavailableError(
        `the ${SERVER_NAMES[kind]} database is unreachable or not accepting connections right now (restarting, overloaded, or the connection was closed); retry later`,
        err,
      );
    case 'sqlite-busy':
      return new StorageUnavailableError(
        'the SQLite database is busy: another connection held its write lock longer than the busy timeout; retry later, or raise busyTimeoutMs',
        err,
      );
    case 'sqlite-unwritable':
      return new StorageUnavailableError(
        'the SQLite file cannot be opened or written (read-only, missing, out of disk space, or an I/O error); check the file, its directory, their permissions and the free space, then retry',
        err,
      );
    default:
      return err;
  }
}
