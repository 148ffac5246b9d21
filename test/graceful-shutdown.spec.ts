import { Inject, Injectable, type DynamicModule } from '@nestjs/common';
import { describe, expect, it, vi } from 'vitest';
import { Job, JobsModule, MemoryStorage, Processor, type JobContext, type JobsModuleOptions } from '../lib/index.js';
import { closeApp, closeAppsAfterEach, queueOf, startApp } from './fixtures/app.js';
import { deferred, flush } from './fixtures/deferred.js';
import { EventLog } from './fixtures/event-log.js';

const GATE_MODE = 'GATE_MODE';

/** Blocks handlers until released (or aborted); in 'pass' mode they finish at once. */
@Injectable()
class Gate {
  readonly release = deferred();
  readonly signals = new Map<string, AbortSignal>();
  constructor(@Inject(GATE_MODE) readonly mode: 'block' | 'pass') {}
}

/** Every run of every app in this file, in order: proves no job is lost or run twice. */
const runs: string[] = [];

@Processor('shutdown')
class SlowProcessor {
  constructor(private readonly gate: Gate) {}

  @Job('slow')
  async slow(_payload: unknown, ctx: JobContext) {
    runs.push(ctx.id);
    this.gate.signals.set(ctx.id, ctx.signal);
    if (this.gate.mode === 'pass') return 'done';
    await Promise.race([
      this.gate.release.promise,
      new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
    ]);
    return 'done';
  }

  /** Does not look at ctx.signal at all. */
  @Job('ignores-abort')
  async ignoresAbort(_payload: unknown, ctx: JobContext) {
    runs.push(ctx.id);
    if (this.gate.mode === 'block') await this.gate.release.promise;
    return 'done';
  }
}

class ShutdownAppModule {
  static register(storage: MemoryStorage, mode: 'block' | 'pass', options: JobsModuleOptions = {}): DynamicModule {
    return {
      module: ShutdownAppModule,
      imports: [JobsModule.forRoot({ storage: { instance: storage }, logger: false, pollIntervalMs: 5, ...options })],
      providers: [Gate, SlowProcessor, { provide: GATE_MODE, useValue: mode }],
    };
  }
}

async function states(storage: MemoryStorage, ids: string[]) {
  return Promise.all(ids.map(async (id) => (await storage.get(id))!));
}

describe('graceful shutdown', () => {
  closeAppsAfterEach();

  it('lets running jobs finish within shutdownTimeoutMs and stops claiming new ones', async () => {
    const storage = new MemoryStorage();
    const app = await startApp({ imports: [ShutdownAppModule.register(storage, 'block', { shutdownTimeoutMs: 10_000 })] });
    const log = new EventLog(queueOf(app).events$);
    const a = await queueOf(app).enqueue('slow', {});
    const b = await queueOf(app).enqueue('slow', {});
    await log.waitFor('started', a.id);
    await log.waitFor('started', b.id);

    let closed = false;
    const closing = closeApp(app).then(() => (closed = true));
    await flush();
    expect(closed).toBe(false);
    const late = await queueOf(app).enqueue('slow', {});
    app.get(Gate).release.resolve();
    await closing;

    const [ja, jb, jl] = await states(storage, [a.id, b.id, late.id]);
    expect(ja).toMatchObject({ state: 'completed', attempt: 1, result: 'done' });
    expect(jb).toMatchObject({ state: 'completed', attempt: 1 });
    expect(jl).toMatchObject({ state: 'available', attempt: 0 });
    expect(app.get(Gate).signals.get(a.id)!.aborted).toBe(false);
  });

  it('past shutdownTimeoutMs aborts running jobs (ShutdownAbort) and hands them back without counting an attempt', async () => {
    const storage = new MemoryStorage();
    const app = await startApp({ imports: [ShutdownAppModule.register(storage, 'block', { shutdownTimeoutMs: 30 })] });
    const log = new EventLog(queueOf(app).events$);
    const a = await queueOf(app).enqueue('slow', {});
    const b = await queueOf(app).enqueue('slow', {});
    await log.waitFor('started', a.id);
    await log.waitFor('started', b.id);

    await closeApp(app);
    for (const id of [a.id, b.id]) {
      const reason = app.get(Gate).signals.get(id)!.reason as Error;
      expect(reason.name).toBe('ShutdownAbort');
      expect(reason.message).toMatch(/shutting down/);
    }
    expect(log.count('released')).toBe(2);
    expect(log.count('failed')).toBe(0);
    for (const job of await states(storage, [a.id, b.id])) {
      expect(job).toMatchObject({ state: 'available', attempt: 0, lockedBy: null, lastError: null });
    }

    // Nothing lost: a restarted app on the same storage runs them.
    const restarted = await startApp({ imports: [ShutdownAppModule.register(storage, 'pass')] });
    await queueOf(restarted).onIdle();
    for (const job of await states(storage, [a.id, b.id])) expect(job).toMatchObject({ state: 'completed', attempt: 1 });
  });

  it('hands prefetched-but-unstarted jobs back at once; after a restart every job has run exactly once', async () => {
    runs.length = 0;
    const storage = new MemoryStorage();
    const options: JobsModuleOptions = { shutdownTimeoutMs: 10_000, queues: { shutdown: { concurrency: 1, prefetch: 5 } } };
    const app = await startApp({ imports: [ShutdownAppModule.register(storage, 'block', options)] });
    const log = new EventLog(queueOf(app).events$);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await queueOf(app).enqueue('slow', { i })).id);
    await log.waitFor('started', ids[0]);
    // One running, three claimed into the local buffer: all four hold a lease.
    expect((await storage.list({ state: 'running' })).jobs).toHaveLength(4);

    let closed = false;
    const closing = closeApp(app).then(() => (closed = true));
    await vi.waitFor(async () => expect((await storage.list({ state: 'available' })).jobs).toHaveLength(3), { interval: 2 });
    expect(closed).toBe(false);
    for (const job of await states(storage, ids.slice(1))) expect(job).toMatchObject({ state: 'available', attempt: 0, lockedBy: null });

    app.get(Gate).release.resolve();
    await closing;
    expect(await storage.get(ids[0]!)).toMatchObject({ state: 'completed' });

    const restarted = await startApp({ imports: [ShutdownAppModule.register(storage, 'pass')] });
    await queueOf(restarted).onIdle();
    for (const job of await states(storage, ids)) expect(job).toMatchObject({ state: 'completed', attempt: 1 });
    expect(runs.sort()).toEqual([...ids].sort());
  });

  it('never hands back a job whose handler ignores the abort: it returns when its lease expires', async () => {
    const storage = new MemoryStorage();
    const lease: JobsModuleOptions = { leaseMs: 60, heartbeatIntervalMs: 10, rescueIntervalMs: 10 };
    const app = await startApp({
      imports: [ShutdownAppModule.register(storage, 'block', { ...lease, shutdownTimeoutMs: 20, abortGraceMs: 20 })],
    });
    const log = new EventLog(queueOf(app).events$);
    const { id } = await queueOf(app).enqueue('ignores-abort', {});
    await log.waitFor('started', id);

    await closeApp(app);
    expect(log.count('released', id)).toBe(0);
    expect(await storage.get(id)).toMatchObject({ state: 'running', attempt: 1 });

    const restarted = await startApp({ imports: [ShutdownAppModule.register(storage, 'pass', lease)] });
    const log2 = new EventLog(queueOf(restarted).events$);
    await log2.waitFor('completed', id);
    expect(await storage.get(id)).toMatchObject({ state: 'completed', attempt: 2 });
    app.get(Gate).release.resolve();
  });
});
