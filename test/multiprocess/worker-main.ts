/**
 * A small worker app run as a child process by the multi-process tests. Settings come from
 * JOBS_MP (JSON): the storage, concurrency, lease. Each handler run appends its job id and
 * attempt to this process's own file, synchronously, so a `kill -9` loses nothing already run.
 */
import 'reflect-metadata';
import { appendFileSync } from 'node:fs';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Job, JobsModule, Processor, type JobContext, type StorageConfig } from '../../lib/index.js';

export interface WorkerSettings {
  storage: StorageConfig;
  out: string;
  concurrency: number;
  prefetch?: number;
  leaseMs?: number;
  pollIntervalMs?: number;
  globalConcurrency?: number;
  rateLimit?: { limit: number; intervalMs: number };
}

const settings = JSON.parse(process.env.JOBS_MP ?? '{}') as WorkerSettings;

@Processor('mp')
class RecordingProcessor {
  @Job('mp-record')
  record(_payload: unknown, ctx: JobContext) {
    appendFileSync(settings.out, `${ctx.id} ${ctx.attempt}\n`);
  }

  /** Records when it ran (`<id> <attempt> timed <start> <end>`, epoch ms): the flow-control tests measure overlap and start rates. */
  @Job('mp-timed')
  async timed(payload: { ms: number }, ctx: JobContext) {
    const start = Date.now();
    await new Promise((resolve) => setTimeout(resolve, payload.ms));
    appendFileSync(settings.out, `${ctx.id} ${ctx.attempt} timed ${start} ${Date.now()}\n`);
  }

  /** A flow's child: a short run, recorded. */
  @Job('mp-flow-child')
  async flowChild(_payload: unknown, ctx: JobContext) {
    await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 20)));
    appendFileSync(settings.out, `${ctx.id} ${ctx.attempt} child\n`);
  }

  /** A flow's parent: recorded with whether every child had completed when it started. */
  @Job('mp-flow-parent')
  async flowParent(_payload: unknown, ctx: JobContext) {
    const children = await ctx.children();
    const ok = children.length > 0 && children.every((c) => c.state === 'completed');
    appendFileSync(settings.out, `${ctx.id} ${ctx.attempt} ${ok ? 'parent-ok' : 'parent-early'}\n`);
  }

  /** Holds its slot until aborted: the crash test kills the process while these run. */
  @Job('mp-hold')
  async hold(payload: { holdMs: number }, ctx: JobContext) {
    appendFileSync(settings.out, `${ctx.id} ${ctx.attempt} started\n`);
    if (ctx.attempt > 1) return;
    await new Promise((resolve) => {
      const t = setTimeout(resolve, payload.holdMs);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(t);
        resolve(undefined);
      });
    });
  }
}

@Module({
  imports: [
    JobsModule.forRoot({
      storage: settings.storage,
      queues: {
        mp: { concurrency: settings.concurrency, prefetch: settings.prefetch, globalConcurrency: settings.globalConcurrency, rateLimit: settings.rateLimit },
      },
      leaseMs: settings.leaseMs ?? 30_000,
      rescueIntervalMs: Math.max(50, Math.floor((settings.leaseMs ?? 30_000) / 2)),
      pollIntervalMs: settings.pollIntervalMs ?? 200,
      shutdownTimeoutMs: 2_000,
      logger: false,
    }),
  ],
  providers: [RecordingProcessor],
})
class WorkerModule {}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(WorkerModule, { logger: ['error'] });
  await app.init();
  process.send?.('ready');
  process.on('message', (msg) => {
    if (msg === 'stop') void app.close().then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
