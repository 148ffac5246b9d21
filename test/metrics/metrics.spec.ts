import { Injectable, Module } from '@nestjs/common';
import { Registry, register } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Backoff, FakeClock, InvalidOptionsError, Job, JobsModule, MaxRetries, Processor, type JobsModuleOptions } from '../../lib/index.js';
import { JobsMetricsModule, type JobsMetricsOptions } from '../../lib/metrics/index.js';
import { closeApp, closeAppsAfterEach, queueOf, startApp } from '../fixtures/app.js';
import { deferred, type Deferred } from '../fixtures/deferred.js';
import { EventLog } from '../fixtures/event-log.js';
import { parseProm, series } from './prom-text.js';

@Injectable()
class Gates {
  readonly byKey = new Map<string, Deferred<void>>();
  gate(key: string): Deferred<void> {
    let d = this.byKey.get(key);
    if (!d) this.byKey.set(key, (d = deferred()));
    return d;
  }
}

@Processor({ queue: 'mix', maxRetries: MaxRetries.count(1), backoff: Backoff.fixed(10) })
class MixProcessor {
  constructor(private readonly gates: Gates) {}

  @Job('ok')
  async ok(payload: { gate?: string }) {
    if (payload.gate) await this.gates.gate(payload.gate).promise;
  }

  /** Fails its first attempt, then succeeds. */
  @Job('flaky')
  flaky(_payload: unknown, ctx: { attempt: number }) {
    if (ctx.attempt === 1) throw new Error('first attempt fails');
  }

  /** Always fails: retried once, then dead. */
  @Job('doomed')
  doomed() {
    throw new Error('always fails');
  }

  @Job('blocker')
  blocker(_payload: unknown, ctx: { signal: AbortSignal }) {
    return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
  }
}

async function startMetricsApp(metrics: JobsMetricsOptions, options: JobsModuleOptions = {}) {
  const clock = new FakeClock();
  @Module({
    imports: [
      JobsModule.forRoot({ storage: { type: 'memory' }, clock, pollIntervalMs: 1, logger: false, leaseMs: 300, heartbeatIntervalMs: 100, ...options }),
      JobsMetricsModule.forRoot(metrics),
    ],
    providers: [Gates, MixProcessor],
  })
  class MetricsApp {}
  const app = await startApp({ imports: [MetricsApp] });
  const queue = queueOf(app);
  return { app, clock, queue, log: new EventLog(queue.events$), gates: app.get(Gates) };
}

const scrape = async (registry: Registry) => parseProm(await registry.metrics());

describe('JobsMetricsModule: Prometheus metrics from prom-client', () => {
  closeAppsAfterEach();
  afterEach(() => vi.restoreAllMocks());

  it('after a known mix the counters hold exactly its counts, and the histograms one sample per outcome', async () => {
    const registry = new Registry();
    const t = await startMetricsApp({ registry });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await t.queue.enqueue('ok', {})).id);
    const flaky = (await t.queue.enqueue('flaky', {})).id;
    const doomed = (await t.queue.enqueue('doomed', {})).id;
    const blocker = (await t.queue.enqueue('blocker', {})).id;
    // A unique job and its duplicate: one job is stored.
    await t.queue.enqueue('ok', {}, { uniqueKey: 'once', delay: 60_000 });
    await t.queue.enqueue('ok', {}, { uniqueKey: 'once', delay: 60_000 });
    for (const id of ids) await t.log.waitFor('completed', id);
    await t.log.waitFor('retrying', flaky);
    await t.log.waitFor('retrying', doomed);
    await t.clock.advance(10);
    await t.log.waitFor('completed', flaky);
    await t.log.waitFor('dead', doomed);
    const started = await t.log.waitFor('started', blocker);
    await t.clock.advance(40);
    await t.queue.cancel(blocker);
    await t.clock.advance(100);
    const cancelled = await t.log.waitFor('cancelled', blocker);

    const samples = await scrape(registry);
    expect(series(samples, 'jobs_enqueued_total')).toEqual({
      'name=ok,queue=mix': 4,
      'name=flaky,queue=mix': 1,
      'name=doomed,queue=mix': 1,
      'name=blocker,queue=mix': 1,
    });
    const finished = {
      'name=ok,outcome=completed,queue=mix': 3,
      'name=flaky,outcome=retried,queue=mix': 1,
      'name=flaky,outcome=completed,queue=mix': 1,
      'name=doomed,outcome=retried,queue=mix': 1,
      'name=doomed,outcome=dead,queue=mix': 1,
      'name=blocker,outcome=cancelled,queue=mix': 1,
    };
    expect(series(samples, 'jobs_finished_total')).toEqual(finished);
    expect(series(samples, 'jobs_duration_seconds_count')).toEqual(finished);
    // Every start: 3 ok, 2 flaky, 2 doomed, 1 blocker.
    expect(series(samples, 'jobs_wait_seconds_count')).toEqual({
      'name=ok,queue=mix': 3,
      'name=flaky,queue=mix': 2,
      'name=doomed,queue=mix': 2,
      'name=blocker,queue=mix': 1,
    });
    // The blocker's handler time: from its start to its cancel (at least the 40 ms that passed while it ran).
    const blockerSeconds = (cancelled.at - started.at) / 1000;
    expect(blockerSeconds).toBeGreaterThanOrEqual(0.04);
    expect(series(samples, 'jobs_duration_seconds_sum')['name=blocker,outcome=cancelled,queue=mix']).toBeCloseTo(blockerSeconds, 6);
    // The flaky job's retry waited for its 10 ms backoff to pass and started at once: no wait past due.
    expect(series(samples, 'jobs_wait_seconds_sum')['name=flaky,queue=mix']).toBe(0);
  });

  it('the wait histogram measures from due to start; jobs_active counts the handlers running here', async () => {
    const registry = new Registry();
    const t = await startMetricsApp({ registry });
    await t.queue.pause('mix');
    const { id } = await t.queue.enqueue('ok', { gate: 'a' });
    await t.clock.advance(2_000);
    await t.queue.resume('mix');
    await t.log.waitFor('started', id);
    const samples = await scrape(registry);
    expect(series(samples, 'jobs_active')).toEqual({ 'queue=mix': 1 });
    expect(series(samples, 'jobs_wait_seconds_sum')).toEqual({ 'name=ok,queue=mix': 2 });
    expect(series(samples, 'jobs_wait_seconds_bucket')['le=1,name=ok,queue=mix']).toBe(0);
    expect(series(samples, 'jobs_wait_seconds_bucket')['le=5,name=ok,queue=mix']).toBe(1);
    t.gates.gate('a').resolve();
    await t.log.waitFor('completed', id);
    expect(series(await scrape(registry), 'jobs_active')).toEqual({ 'queue=mix': 0 });
  });

  it('the queue gauges match stats(), and the oldest age is that of the oldest due job', async () => {
    const registry = new Registry();
    // Enqueue only: the jobs stay where they are put.
    const t = await startMetricsApp({ registry }, { workers: false });
    await t.queue.enqueue('ok', {}, { queue: 'backlog' });
    await t.clock.advance(3_000);
    await t.queue.enqueue('ok', {}, { queue: 'backlog' });
    await t.queue.enqueue('ok', {}, { queue: 'backlog', delay: 60_000 });
    await t.queue.enqueue('ok', {}, { queue: 'later', delay: 60_000 });
    const samples = await scrape(registry);
    const stats = await t.queue.stats();
    const expected: Record<string, number> = {};
    for (const s of stats) for (const state of ['available', 'scheduled', 'running', 'dead'] as const) expected[`queue=${s.queue},state=${state}`] = s[state];
    expect(series(samples, 'jobs_queue_jobs')).toEqual(expected);
    expect(expected).toMatchObject({ 'queue=backlog,state=available': 2, 'queue=backlog,state=scheduled': 1, 'queue=later,state=scheduled': 1 });
    expect(series(samples, 'jobs_queue_oldest_age_seconds')).toEqual({ 'queue=backlog': 3, 'queue=later': 0 });
    expect(series(samples, 'jobs_active')).toEqual({});
  });

  it('many scrapes within the cache window cost one storage read; a storage that fails leaves only the queue gauges out', async () => {
    const registry = new Registry();
    const t = await startMetricsApp({ registry }, { workers: false });
    await t.queue.enqueue('ok', {}, { queue: 'q1' });
    const stats = vi.spyOn(t.queue, 'stats');
    const oldest = vi.spyOn(t.queue, 'oldestAvailable');
    await Promise.all([scrape(registry), scrape(registry)]);
    await scrape(registry);
    expect(stats).toHaveBeenCalledTimes(1);
    expect(oldest).toHaveBeenCalledTimes(1);

    const fresh = new Registry();
    const u = await startMetricsApp({ registry: fresh }, { workers: false });
    await u.queue.enqueue('ok', {}, { queue: 'q1' });
    vi.spyOn(u.queue, 'stats').mockRejectedValue(new Error('connection refused'));
    const samples = await scrape(fresh);
    expect(series(samples, 'jobs_queue_jobs')).toEqual({});
    expect(series(samples, 'jobs_enqueued_total')).toEqual({ 'name=ok,queue=q1': 1 });
  });

  it('labels hold only queue, job name, outcome and state: never an id', async () => {
    const registry = new Registry();
    const t = await startMetricsApp({ registry });
    const ids: string[] = [];
    for (const name of ['ok', 'doomed', 'flaky']) ids.push((await t.queue.enqueue(name, {})).id);
    await t.log.waitFor('retrying', ids[1]);
    await t.clock.advance(10);
    await t.log.waitFor('dead', ids[1]);
    const samples = await scrape(registry);
    expect(samples.length).toBeGreaterThan(20);
    const keys = new Set(samples.flatMap((s) => Object.keys(s.labels)));
    expect([...keys].sort()).toEqual(['le', 'name', 'outcome', 'queue', 'state']);
    const values = new Set(samples.flatMap((s) => [s.labels.queue, s.labels.name]).filter(Boolean));
    for (const id of ids) expect(values.has(id)).toBe(false);
  });

  it('prefix replaces jobs_; the default registry is prom-client\'s global one, and closing the app unregisters', async () => {
    const registry = new Registry();
    const t = await startMetricsApp({ registry, prefix: 'acme_work_' });
    await t.queue.enqueue('ok', {});
    const names = new Set((await scrape(registry)).map((s) => s.name));
    expect(names.has('acme_work_enqueued_total')).toBe(true);
    expect(names.has('acme_work_queue_oldest_age_seconds')).toBe(true);
    expect([...names].some((n) => n.startsWith('jobs_'))).toBe(false);

    const g = await startMetricsApp({});
    await g.queue.enqueue('ok', {});
    expect(series(await scrape(register), 'jobs_enqueued_total')).toEqual({ 'name=ok,queue=mix': 1 });
    // A second app on the same registry is refused with a message that says what to do.
    await expect(startMetricsApp({})).rejects.toThrow(/already registered.*own registry or another prefix/);
    await closeApp(g.app);
    expect(register.getSingleMetric('jobs_enqueued_total')).toBeUndefined();
  });

  it('options are validated, each problem named', () => {
    expect(() => JobsMetricsModule.forRoot({ prefix: '1jobs_' })).toThrow(InvalidOptionsError);
    expect(() => JobsMetricsModule.forRoot({ prefix: 'my-jobs_' })).toThrow(/'prefix'.*"my-jobs_"/);
    expect(() => JobsMetricsModule.forRoot({ prefix: '' })).toThrow(/'prefix'/);
    expect(() => JobsMetricsModule.forRoot({ registry: {} as Registry })).toThrow(/'registry'.*prom-client Registry/);
    expect(() => JobsMetricsModule.forRoot({ prefx: 'a_' } as JobsMetricsOptions)).toThrow(/did you mean 'prefix'/);
  });
});
