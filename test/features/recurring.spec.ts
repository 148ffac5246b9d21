import { Test } from '@nestjs/testing';
import type { INestApplication } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, InvalidOptionsError, Job, JobsModule, MemoryStorage, Processor, QueueService, type JobContext } from '../../lib/index.js';

const START = Date.UTC(2026, 0, 1, 0, 0, 0);

const runs: { name: string; at: number; payload: unknown; headers?: Record<string, string> }[] = [];
let clockRef: FakeClock;

@Processor('sched')
class SyncProcessor {
  @Job('sync', { every: 1000 })
  sync(payload: unknown) {
    runs.push({ name: 'sync', at: clockRef.now(), payload });
  }

  @Job('report', { cron: '0 3 * * *', timezone: 'Europe/Paris' })
  report() {
    runs.push({ name: 'report', at: clockRef.now(), payload: null });
  }

  @Job('ping')
  ping(payload: unknown, ctx: JobContext) {
    runs.push({ name: 'ping', at: clockRef.now(), payload, headers: { ...ctx.headers } });
  }
}

@Processor('sched')
class SkippingProcessor {
  @Job('sync', { every: 1000, missedTicks: 'skip' })
  sync(payload: unknown) {
    runs.push({ name: 'sync', at: clockRef.now(), payload });
  }
}

async function instance(storage: MemoryStorage, clock: FakeClock, processor: Function = SyncProcessor, pollIntervalMs = 100): Promise<INestApplication> {
  const mod = await Test.createTestingModule({
    imports: [JobsModule.forRoot({ storage: { instance: storage }, clock, pollIntervalMs, leaseMs: 3_600_000, logger: false })],
    providers: [processor as never],
  }).compile();
  const app = mod.createNestApplication();
  await app.init();
  return app;
}

describe('recurring jobs', () => {
  const apps: INestApplication[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    runs.length = 0;
  });

  it('@Job({ every }) fires once per tick', async () => {
    clockRef = new FakeClock(START + 10);
    const storage = new MemoryStorage({ clock: clockRef });
    apps.push(await instance(storage, clockRef));
    await clockRef.advance(5_000);
    const ticks = runs.filter((r) => r.name === 'sync').map((r) => r.at);
    expect(ticks).toHaveLength(5);
    // Each run happens at (or within a poll interval after) its tick.
    ticks.forEach((at, i) => expect(at - (START + (i + 1) * 1000)).toBeLessThanOrEqual(200));
  });

  it('three instances sharing one storage still fire each tick exactly once', async () => {
    clockRef = new FakeClock(START + 10);
    const storage = new MemoryStorage({ clock: clockRef });
    for (let i = 0; i < 3; i++) apps.push(await instance(storage, clockRef));
    await clockRef.advance(10_000);
    expect(runs.filter((r) => r.name === 'sync')).toHaveLength(10);
    const keys = (await storage.list({ name: 'sync', limit: 100 })).jobs.map((j) => j.uniqueKey);
    expect(new Set(keys).size).toBe(10);
  });

  it('after an outage the missed ticks fire once, not in a storm, then the schedule goes on', async () => {
    clockRef = new FakeClock(START + 10);
    const storage = new MemoryStorage({ clock: clockRef });
    const first = await instance(storage, clockRef);
    await clockRef.advance(2_000);
    expect(runs).toHaveLength(2);
    await first.close();
    await clockRef.advance(30_000); // nobody running: 30 ticks missed
    apps.push(await instance(storage, clockRef));
    await clockRef.advance(500);
    expect(runs).toHaveLength(3); // one catch-up run
    await clockRef.advance(2_000);
    expect(runs).toHaveLength(5);
  });

  it("missedTicks: 'skip' skips a late tick", async () => {
    clockRef = new FakeClock(START + 10);
    const storage = new MemoryStorage({ clock: clockRef });
    const first = await instance(storage, clockRef, SkippingProcessor);
    await clockRef.advance(1_000);
    expect(runs).toHaveLength(1);
    await first.close();
    await clockRef.advance(30_000);
    apps.push(await instance(storage, clockRef, SkippingProcessor));
    await clockRef.advance(500);
    expect(runs).toHaveLength(1);
    await clockRef.advance(1_000);
    expect(runs).toHaveLength(2);
  });

  it('cron with a time zone fires at the zone\'s local time', async () => {
    clockRef = new FakeClock(START + 10); // 01:00 in Paris on Jan 1st
    const storage = new MemoryStorage({ clock: clockRef });
    // A coarse poll keeps three hours of fake time cheap; the run lands within one poll of the tick.
    apps.push(await instance(storage, clockRef, SyncProcessor, 60_000));
    await clockRef.advance(3 * 3_600_000);
    const reports = runs.filter((r) => r.name === 'report');
    expect(reports).toHaveLength(1);
    // 03:00 Europe/Paris (UTC+1 in winter) is 02:00 UTC.
    expect(reports[0]!.at - Date.UTC(2026, 0, 1, 2, 0, 0)).toBeGreaterThanOrEqual(0);
    expect(reports[0]!.at - Date.UTC(2026, 0, 1, 2, 0, 0)).toBeLessThanOrEqual(60_000);
  });

  it('queue.every() / unschedule() run a job with a payload on a schedule, and stop it', async () => {
    clockRef = new FakeClock(START + 10);
    const storage = new MemoryStorage({ clock: clockRef });
    const app = await instance(storage, clockRef);
    apps.push(app);
    const queue = app.get(QueueService);
    await queue.every('ping', { hello: 'world' }, { every: '2s', key: 'ping-2s' });
    await clockRef.advance(4_100);
    expect(runs.filter((r) => r.name === 'ping')).toEqual([
      expect.objectContaining({ payload: { hello: 'world' } }),
      expect.objectContaining({ payload: { hello: 'world' } }),
    ]);
    // Replacing the schedule keeps one schedule row.
    await queue.every('ping', { hello: 'again' }, { every: '2s', key: 'ping-2s' });
    await clockRef.advance(2_000);
    expect(runs.filter((r) => r.name === 'ping').at(-1)!.payload).toEqual({ hello: 'again' });
    expect(runs.filter((r) => r.name === 'ping')).toHaveLength(3);
    expect(await queue.unschedule('ping-2s')).toBe(true);
    expect(await queue.unschedule('ping-2s')).toBe(false);
    await clockRef.advance(6_000);
    expect(runs.filter((r) => r.name === 'ping')).toHaveLength(3);
  });

  it('queue.every(…, { headers }) gives every tick its headers; invalid headers are refused at the call', async () => {
    clockRef = new FakeClock(START + 10);
    const storage = new MemoryStorage({ clock: clockRef });
    const app = await instance(storage, clockRef);
    apps.push(app);
    const queue = app.get(QueueService);
    await queue.every('ping', null, { every: '1s', key: 'with-headers', headers: { 'x-tenant': 'acme' } });
    await clockRef.advance(2_100);
    const pings = runs.filter((r) => r.name === 'ping');
    expect(pings).toHaveLength(2);
    expect(pings.map((r) => r.headers)).toEqual([{ 'x-tenant': 'acme' }, { 'x-tenant': 'acme' }]);
    await expect(queue.every('ping', null, { every: '1s', key: 'bad', headers: { n: 1 as unknown as string } })).rejects.toThrow(
      "Invalid option 'headers.n': a header value is a string, got number",
    );
  });

  it('an invalid cron expression or time zone is an error naming it', async () => {
    clockRef = new FakeClock(START);
    const storage = new MemoryStorage({ clock: clockRef });
    const app = await instance(storage, clockRef);
    apps.push(app);
    const queue = app.get(QueueService);
    await expect(queue.every('ping', {}, { cron: '61 * * * *' })).rejects.toThrow(/61 \* \* \* \*/);
    await expect(queue.every('ping', {}, { cron: '0 3 * * *', timezone: 'Mars/Olympus' })).rejects.toThrow(InvalidOptionsError);
    await expect(queue.every('ping', {}, { every: 'soon' })).rejects.toThrow(/soon/);
    await expect(queue.every('nope', {}, { every: 1000 })).rejects.toThrow(/nope/);

    @Processor('bad')
    class BadCron {
      @Job('bad-cron', { cron: 'every tuesday' })
      run() {}
    }
    const mod = await Test.createTestingModule({
      imports: [JobsModule.forRoot({ storage: { type: 'memory' }, logger: false })],
      providers: [BadCron],
    }).compile();
    await expect(mod.createNestApplication().init()).rejects.toThrow(/every tuesday/);
  });
});
