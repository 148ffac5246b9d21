/**
 * A worker app run as a child process by the chaos suite (compiled by tsc to dist/, forked by
 * fleet.ts). Settings come from CHAOS_WORKER (JSON). Every handler run, abort, notable event,
 * warning and fatal error goes to this process's ledger file, synchronously (see
 * chaos-protocol.ts). It reports 'ready' over IPC, stops on an IPC 'stop' (app.close()), and
 * shuts down on SIGTERM through Nest's shutdown hooks, as an app in production would.
 */
import 'reflect-metadata';
import { appendFileSync } from 'node:fs';
import { Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Backoff, Job, JobsModule, Processor, QueueService, type EngineLogger, type JobContext } from '../../lib/index.js';
import type { JobsRuntime } from '../../lib/core/jobs-runtime.js';
import { JOBS_RUNTIME } from '../../lib/nest/jobs.constants.js';
import { CHAOS_QUEUE, jobName, type ChaosPayload, type ChaosWorkerSettings, type JobKind, type LedgerLine } from './chaos-protocol.js';

const settings = JSON.parse(process.env.CHAOS_WORKER ?? '{}') as ChaosWorkerSettings;
const pid = process.pid;

function record(line: LedgerLine): void {
  appendFileSync(settings.ledger, `${JSON.stringify(line)}\n`);
}

function fatal(kind: string, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  try {
    record({ t: 'fatal', kind, msg: e.message, stack: e.stack, pid, at: Date.now() });
  } finally {
    console.error(`chaos worker ${pid}: ${kind}:`, e);
    process.exit(70);
  }
}
process.on('uncaughtException', (err) => fatal('uncaughtException', err));
process.on('unhandledRejection', (reason) => fatal('unhandledRejection', reason));
process.on('exit', (code) => record({ t: 'exit', code, pid, at: Date.now() }));

const reasonName = (reason: unknown) => (reason instanceof Error ? reason.constructor.name : String(reason));

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const abort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', abort);
      resolve();
    }, ms);
    signal.addEventListener('abort', abort, { once: true });
  });
}

const insertEffect =
  settings.placeholders === 'pg'
    ? `INSERT INTO ${settings.effectTable} (job_id, seq, pid, attempt) VALUES ($1, $2, $3, $4)`
    : `INSERT INTO ${settings.effectTable} (job_id, seq, pid, attempt) VALUES (?, ?, ?, ?)`;

interface QueryManager {
  query(sql: string, params: unknown[]): Promise<unknown>;
}

@Processor({ queue: CHAOS_QUEUE, maxRetries: settings.maxRetries, backoff: Backoff.fixed(settings.retryDelayMs) })
class ChaosProcessor {
  @Job(jobName('plain'))
  plain(payload: ChaosPayload, ctx: JobContext) {
    return this.run('plain', payload, ctx);
  }

  @Job(jobName('flaky'))
  flaky(payload: ChaosPayload, ctx: JobContext) {
    return this.run('flaky', payload, ctx);
  }

  @Job(jobName('long'))
  long(payload: ChaosPayload, ctx: JobContext) {
    return this.run('long', payload, ctx);
  }

  /** The effect row and the job's completion commit together, or neither does. */
  @Job(jobName('tx'), { transaction: true })
  async tx(payload: ChaosPayload, ctx: JobContext) {
    await this.run('tx', payload, ctx);
    await (ctx.manager as QueryManager).query(insertEffect, [ctx.id, payload.seq, pid, ctx.attempt]);
  }

  private async run(kind: JobKind, payload: ChaosPayload, ctx: JobContext): Promise<void> {
    const willFail = kind === 'flaky' && ctx.attempt === 1;
    record({ t: 'run', job: ctx.id, seq: payload.seq, kind, attempt: ctx.attempt, pid, at: Date.now(), willFail });
    const { signal } = ctx;
    signal.addEventListener('abort', () => record({ t: 'abort', job: ctx.id, attempt: ctx.attempt, pid, at: Date.now(), reason: reasonName(signal.reason) }), {
      once: true,
    });
    await pause(payload.ms, signal);
    if (willFail) throw new Error(`designed failure of job ${ctx.id} on its first attempt`);
  }
}

/** Records lease-lost, released and dead events, and the end of the drain. */
@Injectable()
class ShutdownProbe implements OnApplicationShutdown {
  constructor(queue: QueueService) {
    queue.events$.subscribe((e) => {
      if (e.type === 'lease-lost' || e.type === 'released' || e.type === 'dead') {
        record({ t: 'event', type: e.type, job: e.jobId, attempt: e.attempt, pid, at: e.at });
      }
    });
  }

  /** Runs after every `beforeApplicationShutdown` hook, so after the jobs module's drain. */
  onApplicationShutdown(): void {
    record({ t: 'drained', pid, at: Date.now() });
  }
}

const logger: EngineLogger = {
  log: () => undefined,
  warn: (msg) => record({ t: 'log', level: 'warn', msg, pid, at: Date.now() }),
  error: (msg) => record({ t: 'log', level: 'error', msg, pid, at: Date.now() }),
};

@Module({
  imports: [
    JobsModule.forRoot({
      storage: settings.storage,
      queues: { [CHAOS_QUEUE]: { concurrency: settings.concurrency, prefetch: settings.prefetch } },
      leaseMs: settings.leaseMs,
      heartbeatIntervalMs: settings.heartbeatIntervalMs,
      rescueIntervalMs: settings.rescueIntervalMs,
      pollIntervalMs: settings.pollIntervalMs,
      shutdownTimeoutMs: settings.shutdownTimeoutMs,
      abortGraceMs: settings.abortGraceMs,
      retention: { completedMs: false },
      logger,
    }),
  ],
  providers: [ChaosProcessor, ShutdownProbe],
})
class ChaosWorkerModule {}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(ChaosWorkerModule, { logger: ['error'] });
  // SIGTERM: Nest runs the shutdown hooks (our drain), then exits with code 0.
  app.enableShutdownHooks(['SIGTERM'], { useProcessExit: true });
  await app.init();
  // The worker id (the jobs' `lockedBy`) is not public API: read it from the runtime, so the
  // suite can tell which rows a terminated worker left leased, even one that never ran a job.
  const runtime = app.get<symbol, JobsRuntime>(JOBS_RUNTIME, { strict: false });
  record({ t: 'wid', pid, wid: runtime.engine!.workerId });
  let closing = false;
  const close = () => {
    if (closing) return;
    closing = true;
    void app.close().then(() => process.exit(0));
  };
  process.on('message', (msg) => {
    if (msg === 'stop') close();
  });
  // The suite went away: don't stay behind working its database.
  process.on('disconnect', close);
  process.send?.({ type: 'ready', pid });
}

main().catch((err: unknown) => fatal('startup', err));
