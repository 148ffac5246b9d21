import { Injectable, Module, type DynamicModule } from '@nestjs/common';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionsError, Job, JobsModule, Processor } from '../lib/index.js';
import type { TypeOrmStorage } from '../lib/storage/typeorm/typeorm.storage.js';
import { closeAppsAfterEach, compileApp, queueOf, runtimeOf, startApp } from './fixtures/app.js';
import { refusal } from './fixtures/refusal.js';
import { uniqueName } from './support/databases.js';

/**
 * `storage: { dataSourceToken: getDataSourceToken() }` with @nestjs/typeorm's own module, whose
 * DataSource is created by an asynchronous provider: the jobs runtime must wait for it, in
 * either order of imports.
 */
@Injectable()
class Ledger {
  readonly ran: string[] = [];
}

@Processor('typeorm-module')
class LedgerProcessor {
  constructor(private readonly ledger: Ledger) {}

  @Job('record')
  record(payload: { tag: string }) {
    this.ledger.ran.push(payload.tag);
  }
}

const files: string[] = [];
closeAppsAfterEach();
afterEach(async () => {
  await Promise.all(files.splice(0).flatMap((f) => [f, `${f}-wal`, `${f}-shm`].map((p) => rm(p, { force: true }))));
});

function typeOrmModule(): DynamicModule {
  const database = join(tmpdir(), `${uniqueName('nest_typeorm')}.sqlite`);
  files.push(database);
  return TypeOrmModule.forRoot({ type: 'better-sqlite3', database, synchronize: false, logging: false });
}

const jobsModule = () => JobsModule.forRoot({ storage: { dataSourceToken: getDataSourceToken() }, logger: false, pollIntervalMs: 50 });

describe('JobsModule with @nestjs/typeorm: storage: { dataSourceToken: getDataSourceToken() }', () => {
  it.each([
    ['TypeOrmModule.forRoot() before JobsModule.forRoot()', () => [typeOrmModule(), jobsModule()]],
    ['JobsModule.forRoot() before TypeOrmModule.forRoot()', () => [jobsModule(), typeOrmModule()]],
  ])('%s: the jobs use the app DataSource and run', async (_order, imports) => {
    const app = await startApp({ imports: imports(), providers: [Ledger, LedgerProcessor] });
    const appDataSource = app.get<DataSource>(getDataSourceToken());
    expect(appDataSource.isInitialized).toBe(true);
    expect((runtimeOf(app).storage as TypeOrmStorage).dataSource).toBe(appDataSource);

    const queue = queueOf(app);
    await appDataSource.transaction(async (manager) => {
      await queue.enqueue('record', { tag: 'in-app-transaction' }, { manager });
    });
    await queue.enqueue('record', { tag: 'plain' });
    await queue.onIdle();
    expect(app.get(Ledger).ran.sort()).toEqual(['in-app-transaction', 'plain']);
  });

  it('the token of a DataSource nobody provides is refused at start-up, naming it', async () => {
    @Module({ imports: [JobsModule.forRoot({ storage: { dataSourceToken: 'MissingDataSource' }, logger: false })] })
    class AppModule {}
    const err = await refusal(InvalidOptionsError, compileApp({ imports: [AppModule] }));
    expect(err.option).toBe('storage.dataSourceToken');
    expect(err.message).toMatch(/no provider MissingDataSource is available/);
  });

  it('forRootAsync: a factory that injects the DataSource works in either order', async () => {
    const asyncJobs = JobsModule.forRootAsync({
      inject: [getDataSourceToken()],
      useFactory: (dataSource: DataSource) => ({ storage: { dataSource }, logger: false }),
    });
    for (const imports of [[typeOrmModule(), asyncJobs], [asyncJobs, typeOrmModule()]]) {
      const app = await startApp({ imports, providers: [Ledger, LedgerProcessor] });
      await queueOf(app).enqueue('record', { tag: 'async' });
      await queueOf(app).onIdle();
      expect(app.get(Ledger).ran).toEqual(['async']);
      await app.close();
    }
  });
});
