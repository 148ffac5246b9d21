import { Injectable, type DynamicModule } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { Job, JobsModule, Processor, type JobContext } from '../../lib/index.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { closeAppsAfterEach, queueOf, startApp } from '../fixtures/app.js';
import { freshSqliteFile, sleep } from '../support/databases.js';

@Injectable()
class Ran {
  readonly ids: string[] = [];
}

@Processor('sq')
class RecordingProcessor {
  constructor(private readonly ran: Ran) {}
  @Job('rec')
  rec(_payload: unknown, ctx: JobContext) {
    this.ran.ids.push(ctx.id);
  }
}

class SqliteWorkerModule {
  static register(storage: TypeOrmStorage): DynamicModule {
    return {
      module: SqliteWorkerModule,
      // A poll far longer than the test: only wake-ups can start a job stored elsewhere.
      imports: [JobsModule.forRoot({ storage: { instance: storage }, logger: false, pollIntervalMs: 60_000, queues: { sq: { concurrency: 4 } } })],
      providers: [Ran, RecordingProcessor],
    };
  }
}

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('a SQLite worker woken by another connection', () => {
  closeAppsAfterEach();
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup() {
    const { file, remove } = freshSqliteFile();
    cleanups.push(remove);
    const storage = await TypeOrmStorage.fromConfig({ type: 'sqlite', database: file, changePollMs: 2 });
    let claims = 0;
    const claim = storage.claim.bind(storage);
    storage.claim = (...args) => (claims++, claim(...args));
    // Another process's connection to the same file.
    const other = await TypeOrmStorage.fromConfig({ type: 'sqlite', database: file, changePollMs: false });
    await other.init();
    cleanups.push(() => other.close());
    const app = await startApp({ imports: [SqliteWorkerModule.register(storage)] });
    return { app, other, ran: app.get(Ran), claims: () => claims };
  }

  it("starts a job stored by another connection without waiting for the poll, and its own writes cause no claims while idle", async () => {
    const { app, other, ran, claims } = await setup();
    // Own work: enqueues, claims or hand-offs, completions.
    for (let i = 0; i < 20; i++) await queueOf(app).enqueue('rec', {});
    await until(() => ran.ids.length === 20, 'the own jobs to run');
    await queueOf(app).onIdle();
    const idle = claims();
    await sleep(300); // ~150 looks
    expect(claims()).toBe(idle);

    const [theirs] = await other.enqueue([{ queue: 'sq', name: 'rec', payload: '{}', priority: 0, maxAttempts: 3 }]);
    await until(() => ran.ids.includes(theirs!.id), 'the job stored by the other connection', 3_000);
    await queueOf(app).onIdle();
    // One claim took it; the completion that followed is this process's own write.
    const after = claims();
    expect(after - idle).toBeGreaterThanOrEqual(1);
    expect(after - idle).toBeLessThanOrEqual(3);
    await sleep(300);
    expect(claims()).toBe(after);
  });

  it("other connections' writes that change no queue's pending jobs wake no claim", async () => {
    const { app, other, claims } = await setup();
    await queueOf(app).onIdle();
    const idle = claims();
    // Jobs of a queue this process does not run, their claim and completion elsewhere.
    const [a] = await other.enqueue([{ queue: 'elsewhere', name: 'x', payload: '{}', priority: 0, maxAttempts: 3 }]);
    await other.claim('elsewhere', 'other-worker', 1, 60_000);
    await other.complete([{ id: a!.id, workerId: 'other-worker' }]);
    await sleep(200);
    expect(claims()).toBe(idle);
  });
});
