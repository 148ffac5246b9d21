import { Test } from '@nestjs/testing';
import type { INestApplication } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { Job, JobsModule, MemoryStorage, Processor, QueueService, type JobContext, type HeartbeatResult } from '../../lib/index.js';

const seen: { id: string; attempt: number }[] = [];
let onStart: ((ctx: JobContext) => void) | null = null;

@Processor('lease')
class LeaseProcessor {
  @Job('lease-job')
  async run(_p: unknown, ctx: JobContext) {
    seen.push({ id: ctx.id, attempt: ctx.attempt });
    onStart?.(ctx);
    if (onStart) await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
  }
}

/** A storage whose heartbeats can be made to fail, as when the database is unreachable. */
class FlakyStorage extends MemoryStorage {
  heartbeatsFail = false;
  override async heartbeat(ids: string[], workerId: string, leaseMs: number): Promise<HeartbeatResult> {
    if (this.heartbeatsFail) throw new Error('connection refused');
    return super.heartbeat(ids, workerId, leaseMs);
  }
}

async function instance(storage: MemoryStorage): Promise<INestApplication> {
  const mod = await Test.createTestingModule({
    imports: [JobsModule.forRoot({ storage: { instance: storage }, pollIntervalMs: 20, leaseMs: 150, heartbeatIntervalMs: 30, rescueIntervalMs: 30, shutdownTimeoutMs: 50, logger: false })],
    providers: [LeaseProcessor],
  }).compile();
  const app = mod.createNestApplication();
  await app.init();
  return app;
}

describe('leases, heartbeats and rescue', () => {
  const apps: INestApplication[] = [];
  afterEach(async () => {
    onStart = null;
    seen.length = 0;
    for (const app of apps.splice(0)) await app.close();
  });

  it('a job claimed by a worker that died is rescued after its lease expires and runs again, counting the crash', async () => {
    const storage = new MemoryStorage();
    const [stored] = await storage.enqueue([{ queue: 'lease', name: 'lease-job', payload: '{}', priority: 0, maxAttempts: 5 }]);
    const id = stored!.id;
    // A worker that claims the job and then dies (never heartbeats, never completes).
    await storage.claim('lease', 'dead-worker', 1, 100);
    const app = await instance(storage);
    apps.push(app);
    await expect(app.get(QueueService).waitFor(id, { timeoutMs: 5_000 })).resolves.toBeNull();
    expect(seen).toEqual([{ id, attempt: 2 }]);
  });

  it('heartbeats keep a long job leased past leaseMs: it is not rescued or run twice', async () => {
    const storage = new MemoryStorage();
    const started = new Promise<JobContext>((resolve) => (onStart = resolve));
    const app = await instance(storage);
    apps.push(app);
    const { id } = await app.get(QueueService).enqueue('lease-job', {});
    const ctx = await started;
    // Three whole leases pass while the handler runs.
    await new Promise((r) => setTimeout(r, 450));
    expect(await storage.rescue()).toBe(0);
    expect((await storage.get(id))!.state).toBe('running');
    expect(ctx.signal.aborted).toBe(false);
    expect(seen).toHaveLength(1);
  });

  it('when heartbeats fail for a whole lease, running handlers are aborted rather than left to run twice', async () => {
    const storage = new FlakyStorage();
    const started = new Promise<JobContext>((resolve) => (onStart = resolve));
    const app = await instance(storage);
    apps.push(app);
    await app.get(QueueService).enqueue('lease-job', {});
    const ctx = await started;
    storage.heartbeatsFail = true;
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
    expect(String(ctx.signal.reason)).toMatch(/lease/i);
    storage.heartbeatsFail = false;
  });
});
