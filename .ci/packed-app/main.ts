// An app that installs the packed module the way a user does (see .ci/pack-install): its own
// @nestjs/common and @nestjs/core (another patch of Nest than the module's dev copies), a job
// processed on SQLite, and a missing database driver named in the start-up error.
import 'reflect-metadata';
import { Injectable, Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { InvalidOptionsError, Job, JobsModule, Processor, QueueService, type JobContext } from 'nestjs-background-jobs';

@Injectable()
class Ledger {
  readonly ran: string[] = [];
}

@Processor('packed')
class PackedProcessor {
  constructor(private readonly ledger: Ledger) {}

  @Job('record')
  record(payload: { tag: string }, ctx: JobContext) {
    this.ledger.ran.push(`${payload.tag}@${ctx.attempt}`);
    return { ok: true };
  }
}

@Module({})
class AppModule {
  static with(jobs: DynamicModule): DynamicModule {
    return { module: AppModule, imports: [jobs], providers: [Ledger, PackedProcessor] };
  }
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`packed app: ${what}`);
  console.log(`ok - ${what}`);
}

const database = process.argv[2];
if (!database) throw new Error('usage: node main.js <sqlite file>');

const app = await NestFactory.createApplicationContext(
  AppModule.with(JobsModule.forRoot({ storage: { type: 'sqlite', database }, logger: false, pollIntervalMs: 100 })),
  { logger: ['error', 'warn'], abortOnError: false },
);
app.enableShutdownHooks();
const queue = app.get(QueueService);
const { id } = await queue.enqueue('record', { tag: 'packed' });
await queue.onIdle();
const job = await queue.getJob(id);
check(job?.state === 'completed', `the job ran on SQLite and completed (state: ${job?.state})`);
check(JSON.stringify(app.get(Ledger).ran) === '["packed@1"]', 'the handler ran once, with its injected dependency');
await app.close();

// pg is an optional peer dependency this app did not install: the error says what to install.
let refusal: unknown = null;
try {
  const pgApp = await NestFactory.createApplicationContext(
    AppModule.with(JobsModule.forRoot({ storage: { type: 'postgres', url: 'postgres://127.0.0.1:1/none' }, logger: false })),
    { logger: false, abortOnError: false },
  );
  await pgApp.close();
} catch (err) {
  refusal = err;
}
check(refusal instanceof InvalidOptionsError && /npm install pg\b/.test(refusal.message), `without pg: ${String(refusal)}`);
