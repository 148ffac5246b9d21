import { describe, expect, it } from 'vitest';
import { StorageUnavailableError } from '../../lib/index.js';
import { AvailabilityExecutor } from '../../lib/storage/typeorm/executors/availability.executor.js';
import type { Executor } from '../../lib/storage/typeorm/executors/executor.js';
import { startExecutor } from '../../lib/storage/typeorm/executors/start-executor.js';
import { asUnavailable } from '../../lib/storage/typeorm/executors/unavailable-errors.js';
import { sql, step } from '../../lib/storage/typeorm/flow.js';
import { availableKinds } from '../support/available-kinds.js';
import { openDataSourceHarness, type DataSourceHarness } from '../support/typeorm-harness.js';

const err = (props: Record<string, unknown>, message = 'driver error') => Object.assign(new Error(message), props);
/** TypeORM's QueryFailedError keeps the driver's error as `driverError` (and copies its fields). */
const wrapped = (driverError: Error) => Object.assign(new Error(driverError.message), { name: 'QueryFailedError', driverError });

describe('which driver errors mean the database is unavailable', () => {
  const unavailable: Array<[kind: 'postgres' | 'mysql' | 'sqlite', error: unknown]> = [
    ['postgres', err({ code: 'ECONNREFUSED' }, 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['postgres', err({ code: 'ECONNRESET' }, 'read ECONNRESET')],
    ['postgres', err({ code: 'EPIPE' }, 'write EPIPE')],
    ['postgres', err({ code: 'ETIMEDOUT' })],
    ['postgres', Object.assign(new AggregateError([err({ code: 'ECONNREFUSED' })], ''), { code: 'ECONNREFUSED' })],
    ['postgres', err({ code: '57P01' }, 'terminating connection due to administrator command')],
    ['postgres', err({ code: '57P02' }, 'terminating connection because of crash of another server process')],
    ['postgres', err({ code: '57P03' }, 'the database system is shutting down')],
    ['postgres', err({ code: '53300' }, 'sorry, too many clients already')],
    ['postgres', err({ code: '08006' }, 'connection failure')],
    ['postgres', wrapped(err({ code: '08P01' }, 'protocol violation'))],
    ['postgres', new Error('Connection terminated unexpectedly')],
    ['postgres', new Error('Connection terminated due to connection timeout', { cause: new Error('x') })],
    ['postgres', new Error('timeout exceeded when trying to connect')],
    ['postgres', new Error('Client has encountered a connection error and is not queryable')],
    ['mysql', wrapped(err({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true }, 'Connection lost: The server closed the connection.'))],
    ['mysql', err({ code: 'ECONNREFUSED', fatal: true })],
    ['mysql', err({ code: 'ER_CON_COUNT_ERROR', errno: 1040 }, 'Too many connections')],
    ['mysql', err({ code: 'ER_SERVER_SHUTDOWN', errno: 1053 }, 'Server shutdown in progress')],
    ['mysql', err({ errno: 1927 }, 'Connection was killed')],
    ['mysql', err({ fatal: true }, "Can't add new command when connection is in closed state")],
    ['sqlite', err({ code: 'SQLITE_BUSY' }, 'database is locked')],
    ['sqlite', err({ code: 'SQLITE_BUSY_SNAPSHOT' })],
    ['sqlite', err({ code: 'SQLITE_READONLY' }, 'attempt to write a readonly database')],
    ['sqlite', err({ code: 'SQLITE_READONLY_DBMOVED' })],
    ['sqlite', err({ code: 'SQLITE_CANTOPEN' }, 'unable to open database file')],
    ['sqlite', err({ code: 'SQLITE_IOERR_WRITE' }, 'disk I/O error')],
    ['sqlite', err({ code: 'SQLITE_FULL' }, 'database or disk is full')],
  ];
  it.each(unavailable)('%s: %s → StorageUnavailableError with the driver error as cause', (kind, error) => {
    const out = asUnavailable(kind, error);
    expect(out).toBeInstanceOf(StorageUnavailableError);
    expect((out as StorageUnavailableError).cause).toBe(error);
    expect((out as Error).message).toMatch(/retry/);
  });

  const programming: Array<[kind: 'postgres' | 'mysql' | 'sqlite', error: unknown]> = [
    ['postgres', err({ code: '42601' }, 'syntax error at or near "SELEC"')],
    ['postgres', err({ code: '23505' }, 'duplicate key value violates unique constraint')],
    ['postgres', err({ code: '40P01' }, 'deadlock detected')],
    ['postgres', err({ code: '57014' }, 'canceling statement due to statement timeout')],
    ['postgres', new Error('Client was closed and is not queryable')],
    ['mysql', err({ code: 'ER_DUP_ENTRY', errno: 1062 })],
    ['mysql', err({ code: 'ER_PARSE_ERROR', errno: 1064 })],
    ['mysql', err({ code: 'ER_LOCK_DEADLOCK', errno: 1213 })],
    ['sqlite', err({ code: 'SQLITE_CONSTRAINT_UNIQUE' })],
    ['sqlite', err({ code: 'SQLITE_ERROR' }, 'near "SELEC": syntax error')],
    ['sqlite', new TypeError('x is not a function')],
  ];
  it.each(programming)('%s: %s surfaces as it is', (kind, error) => {
    expect(asUnavailable(kind, error)).toBe(error);
  });

  it('a StorageUnavailableError stays the same error', () => {
    const e = new StorageUnavailableError('x');
    expect(asUnavailable('postgres', e)).toBe(e);
  });

  it("a transaction's work keeps its own errors, even connection errors of the handler's own queries; its statements and commit are classified", async () => {
    const handlerError = err({ code: 'ECONNRESET' }, "the handler's own query");
    const commitError = err({ code: '57P01' }, 'terminating connection due to administrator command');
    let commitFails = false;
    const inner: Executor = {
      run: () => Promise.reject(err({ code: 'ECONNREFUSED' })),
      runOn: () => Promise.reject(err({ code: 'ECONNREFUSED' })),
      transaction: async (work) => {
        const value = await work({}, () => Promise.reject(err({ code: 'ECONNRESET' }, 'our statement')));
        if (commitFails) throw commitError;
        return value;
      },
    };
    const ex = new AvailabilityExecutor(inner, 'postgres');
    await expect(ex.transaction(() => Promise.reject(handlerError))).rejects.toBe(handlerError);
    const ours = await ex.transaction((_m, run) => run(step('write', function* () { yield sql('x'); }))).catch((e: unknown) => e);
    expect(ours).toBeInstanceOf(StorageUnavailableError);
    commitFails = true;
    const commit = await ex.transaction(async () => 1).catch((e: unknown) => e);
    expect(commit).toBeInstanceOf(StorageUnavailableError);
    expect((commit as StorageUnavailableError).cause).toBe(commitError);
    await expect(ex.run(step('read', function* () { yield sql('x'); }))).rejects.toBeInstanceOf(StorageUnavailableError);
  });
});

for (const kind of await availableKinds()) {
  describe(`programming errors on ${kind} surface as the driver raised them`, () => {
    it('a syntax error and a primary-key violation are not StorageUnavailableError', async () => {
      const h: DataSourceHarness = await openDataSourceHarness(kind);
      try {
        const { executor: ex } = await startExecutor(h.dataSource, kind === 'mariadb' ? 'mysql' : kind, 100);
        const syntax = await ex.run(step('read', function* () { yield sql('SELEC 1'); })).catch((e: unknown) => e);
        expect(syntax).toBeInstanceOf(Error);
        expect(syntax).not.toBeInstanceOf(StorageUnavailableError);
        await h.dataSource.query(h.insertNote.replace('(body)', '(id, body)').replace(/\(\$1\)|\(\?\)/, kind === 'postgres' ? '(1, $1)' : '(1, ?)'), ['a']);
        const dup = await ex.run(step('write', function* () {
          yield sql(h.insertNote.replace('(body)', '(id, body)').replace(/\(\$1\)|\(\?\)/, kind === 'postgres' ? '(1, $1)' : '(1, ?)'), ['b']);
        })).catch((e: unknown) => e);
        expect(dup).toBeInstanceOf(Error);
        expect(dup).not.toBeInstanceOf(StorageUnavailableError);
        expect(String((dup as { code?: unknown }).code ?? (dup as { driverError?: { code?: unknown } }).driverError?.code)).toMatch(/23505|ER_DUP_ENTRY|SQLITE_CONSTRAINT/);
      } finally {
        await h.cleanup();
      }
    });
  });
}
