import { existsSync } from 'node:fs';
import { Injectable, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { Job, JobsModule, Processor, QueueService } from '../../lib/index.js';
import { JobsTester, JobsTestingModule } from '../../lib/testing/index.js';
import { freshSqliteFile } from '../support/databases.js';

/** An app as users write it: JobsModule on a SQLite file, a processor without its own retry policy. */
@Injectable()
class Ledger {
  readonly entries: string[] = [];
}

@Processor('billing')
class BillingProcessor {
  constructor(private readonly ledger: Ledger) {}

  @Job('charge')
  charge(payload: { amount: number }): void {
    if (payload.amount < 0) throw new Error('negative amount');
    this.ledger.entries.push(`charged ${payload.amount}`);
  }
}

@Module({ providers: [Ledger, BillingProcessor], exports: [Ledger] })
class BillingModule {}

@Injectable()
class AppConfig {
  constructor(readonly file: string) {}
}

function apps(file: string) {
  @Module({ imports: [JobsModule.forRoot({ storage: { type: 'sqlite', database: file }, maxRetries: 1 }), BillingModule] })
  class SyncApp {}

  @Module({ providers: [{ provide: AppConfig, useValue: new AppConfig(file) }], exports: [AppConfig] })
  class ConfigModule {}

  @Module({
    imports: [
      JobsModule.forRootAsync({
        imports: [ConfigModule],
        inject: [AppConfig],
        useFactory: (config: AppConfig) => ({ storage: { type: 'sqlite' as const, database: config.file }, maxRetries: 1 }),
      }),
      BillingModule,
    ],
  })
  class AsyncApp {}

  return [
    { style: 'forRoot', AppModule: SyncApp, file },
    { style: 'forRootAsync', AppModule: AsyncApp, file },
  ];
}

// The apps' SQLite file is never created: the testing module replaces the storage with memory.
describe.each([...apps(freshSqliteFile().file)])('overrideModule(JobsModule) on an app using JobsModule.$style', ({ AppModule, file }) => {
  let app: TestingModule | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('swaps the whole jobs machinery: memory storage, manual mode, the app’s retry policy, its handlers', async () => {
    app = await Test.createTestingModule({ imports: [AppModule] })
      .overrideModule(JobsModule)
      .useModule(JobsTestingModule.forRoot())
      .compile();
    await app.init();
    const queue = app.get(QueueService);
    const tester = app.get(JobsTester);
    const ledger = app.get(Ledger);

    await queue.enqueue('charge', { amount: 5 });
    await queue.enqueue('charge', { amount: -1 });
    await tester.expectEnqueued('charge', { amount: 5 });
    expect(ledger.entries).toEqual([]);
    // The app's maxRetries: 1 applies: the failing charge runs twice, then it is dead.
    expect(await tester.drain({ scheduled: true })).toEqual({ completed: 1, retried: 1, dead: 1, cancelled: 0 });
    expect(ledger.entries).toEqual(['charged 5']);
    expect(tester.clock.pendingTimers).toBe(0);
  });

  it('never opens the app’s own storage; inline mode runs jobs inside enqueue', async () => {
    app = await Test.createTestingModule({ imports: [AppModule] })
      .overrideModule(JobsModule)
      .useModule(JobsTestingModule.forRoot({ mode: 'inline' }))
      .compile();
    await app.init();
    await app.get(QueueService).enqueue('charge', { amount: 7 });
    expect(app.get(Ledger).entries).toEqual(['charged 7']);
    expect(existsSync(file)).toBe(false);
  });

  it('app.close() leaves no timer behind', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    app = await Test.createTestingModule({ imports: [AppModule] })
      .overrideModule(JobsModule)
      .useModule(JobsTestingModule.forRoot())
      .compile();
    await app.init();
    const queue = app.get(QueueService);
    await queue.enqueue('charge', { amount: 1 }, { delay: 60_000 });
    const tester = app.get(JobsTester);
    await tester.drain({ scheduled: true });
    await app.close();
    app = undefined;
    expect(tester.clock.pendingTimers).toBe(0);
    // At most as many as before: a timer of the test runner's own may have ended meanwhile.
    expect(timers()).toBeLessThanOrEqual(before);
  });
});
