import type { LoggerService } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { JobsDashboardEvents, type DashboardActionEvent } from '../../lib/dashboard/index.js';
import { ACTION_HEADERS, ADAPTERS, dashboard, startDashboardApp, TOKEN, type AdapterKind, type DashboardApp } from '../fixtures/dashboard-app.js';

const apps: DashboardApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.app.close()));
});

async function start(adapter: AdapterKind, extra: Partial<Parameters<typeof startDashboardApp>[0]> = {}): Promise<DashboardApp> {
  const d = await startDashboardApp({ adapter, dashboard: dashboard(), ...extra });
  apps.push(d);
  return d;
}

async function get(d: DashboardApp, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${d.url}${path}`, { headers: { 'x-dashboard-token': TOKEN } });
  return { status: res.status, body: await res.json() };
}

async function post(d: DashboardApp, path: string, body: unknown = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${d.url}${path}`, { method: 'POST', headers: ACTION_HEADERS, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A job of `flaky` that died (its one attempt failed). */
async function deadJob(d: DashboardApp): Promise<string> {
  const { id } = await d.queue.enqueue('flaky', {});
  await until(async () => (await d.queue.getJob(id))?.state === 'dead', 'the flaky job to die');
  return id;
}

describe.each(ADAPTERS)('dashboard JSON API on %s', (adapter) => {
  it('GET api/queues lists every queue with its counts, paused flag and last hour', async () => {
    const d = await start(adapter);
    await d.queue.enqueue('work', {});
    await deadJob(d);
    await d.queue.onIdle();
    await d.queue.enqueue('work', {}, { delay: 60_000 });
    const { status, body } = await get(d, '/api/queues');
    expect(status).toBe(200);
    expect(body).toEqual({
      queues: [{ name: 'mail', paused: false, counts: { available: 0, scheduled: 1, running: 0, dead: 1, completed: 1 }, completedLastHour: 1, failedLastHour: 1 }],
    });
  });

  it('retry: a dead job runs again and completes; a job that cannot be retried is a 409; an unknown one a 404', async () => {
    const d = await start(adapter);
    const id = await deadJob(d);
    d.flip.failing = false;
    const res = await post(d, `/api/jobs/${id}/retry`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, state: 'available' });
    await until(async () => (await d.queue.getJob(id))?.state === 'completed', 'the retried job to complete');
    const { id: later } = await d.queue.enqueue('work', {}, { delay: 60_000 });
    expect((await post(d, `/api/jobs/${later}/retry`)).status).toBe(409);
    expect((await post(d, '/api/jobs/987654/retry')).status).toBe(404);
  });

  it('retry of a flow parent that died with its child: it waits for the retried child, then runs (a 200, not a 409)', async () => {
    const d = await start(adapter);
    const ids = await d.queue.flow({ job: 'work', payload: {}, children: [{ job: 'flaky', payload: {} }] });
    await until(async () => (await d.queue.getJob(ids.id))?.state === 'dead', 'the parent to die with its child');
    d.flip.failing = false;
    const res = await post(d, `/api/jobs/${ids.id}/retry`);
    expect(res).toMatchObject({ status: 200, body: { id: ids.id, state: 'waiting' } });
    await until(async () => (await d.queue.getJob(ids.id))?.state === 'completed', 'the parent to complete after its child');
    expect((await d.queue.getJob(ids.children[0]!.id))!.state).toBe('completed');
  });

  it('cancel: a scheduled job is cancelled; a completed one is a 409', async () => {
    const d = await start(adapter);
    const { id } = await d.queue.enqueue('work', {}, { delay: 60_000 });
    const res = await post(d, `/api/jobs/${id}/cancel`);
    expect(res).toMatchObject({ status: 200, body: { id, state: 'cancelled' } });
    const { id: done } = await d.queue.enqueue('work', {});
    await until(async () => (await d.queue.getJob(done))?.state === 'completed', 'the job to complete');
    const refused = await post(d, `/api/jobs/${done}/cancel`);
    expect(refused.status).toBe(409);
    expect(refused.body.message).toContain('completed');
  });

  it('run-now: a scheduled job runs at once; a completed one is a 409', async () => {
    const d = await start(adapter);
    const { id } = await d.queue.enqueue('work', { later: true }, { delay: 3_600_000 });
    const res = await post(d, `/api/jobs/${id}/run-now`);
    expect(res).toMatchObject({ status: 200, body: { id } });
    await until(async () => (await d.queue.getJob(id))?.state === 'completed', 'the job to run now');
    const refused = await post(d, `/api/jobs/${id}/run-now`);
    expect(refused.status).toBe(409);
    expect(refused.body.message).toContain('completed');
  });

  it('pause and resume a queue', async () => {
    const d = await start(adapter);
    expect(await post(d, '/api/queues/mail/pause')).toMatchObject({ status: 200, body: { queue: 'mail', paused: true } });
    const { id } = await d.queue.enqueue('work', {});
    expect((await get(d, '/api/queues')).body.queues[0]).toMatchObject({ name: 'mail', paused: true });
    await new Promise((r) => setTimeout(r, 200));
    expect((await d.queue.getJob(id))!.state).toBe('available');
    expect((await post(d, '/api/queues/mail/resume')).body).toEqual({ queue: 'mail', paused: false });
    await until(async () => (await d.queue.getJob(id))?.state === 'completed', 'the job to run after resume');
  });

  it('retry-dead retries every dead job of the queue; prune deletes its completed jobs', async () => {
    const d = await start(adapter);
    const dead = [await deadJob(d), await deadJob(d)];
    d.flip.failing = false;
    expect(await post(d, '/api/queues/mail/retry-dead')).toMatchObject({ status: 200, body: { retried: 2 } });
    for (const id of dead) await until(async () => (await d.queue.getJob(id))?.state === 'completed', `job ${id} to complete`);
    const { id: other } = await d.queue.enqueue('report', {});
    await d.queue.onIdle();
    expect(await post(d, '/api/queues/mail/prune', { olderThan: new Date(Date.now() + 60_000).toISOString() })).toMatchObject({ status: 200, body: { pruned: 2 } });
    expect(await d.queue.getJob(dead[0]!)).toBeNull();
    expect((await d.queue.getJob(other))!.state).toBe('completed');
  });

  it('bulk retries or cancels the listed jobs and reports each one', async () => {
    const d = await start(adapter);
    const a = (await d.queue.enqueue('work', {}, { delay: 60_000 })).id;
    const b = (await d.queue.enqueue('work', {}, { delay: 60_000 })).id;
    const res = await post(d, '/api/jobs/bulk', { action: 'cancel', ids: [a, b, '987654'] });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      { id: a, ok: true, state: 'cancelled' },
      { id: b, ok: true, state: 'cancelled' },
      { id: '987654', ok: false, error: expect.stringContaining('987654') },
    ]);
    const retried = await post(d, '/api/jobs/bulk', { action: 'retry', ids: [a, b] });
    expect(retried.body.results.map((r: { ok: boolean }) => r.ok)).toEqual([true, true]);
    await until(async () => (await d.queue.getJob(b))?.state === 'completed', 'the retried job to complete');
  });

  it('bad input is a 400 naming the problem', async () => {
    const d = await start(adapter);
    const cases: Array<[string, RegExp]> = [
      ['/api/jobs/abc', /job id "abc"/],
      ['/api/jobs?state=bogus', /state "bogus".*expected one of/],
      ['/api/jobs?limit=0', /limit "0"/],
      ['/api/jobs?limit=1001', /limit "1001"/],
      ['/api/jobs?cursor=zz', /cursor "zz"/],
      ['/api/jobs?queue=a%20b', /queue "a b"/],
      ['/api/jobs?nme=x', /Unknown query parameter 'nme'/],
      ['/api/jobs?state=dead&state=completed', /more than once/],
      ['/api/throughput?queue=%3Cx%3E', /queue "<x>"/],
    ];
    for (const [path, message] of cases) {
      const res = await get(d, path);
      expect(res.status, path).toBe(400);
      expect(res.body.message, path).toMatch(message);
    }
    const posts: Array<[string, unknown, RegExp]> = [
      ['/api/jobs/bulk', { action: 'delete', ids: ['1'] }, /action "delete"/],
      ['/api/jobs/bulk', { action: 'retry', ids: [] }, /non-empty array/],
      ['/api/jobs/bulk', { action: 'retry', ids: Array.from({ length: 1001 }, (_, i) => String(i + 1)) }, /at most 1000/],
      ['/api/jobs/bulk', { action: 'retry', ids: ['1; DROP'] }, /job id/],
      ['/api/jobs/1/retry', { force: true }, /Unknown field 'force'/],
      ['/api/jobs/1/retry', [], /JSON object/],
      ['/api/queues/mail/prune', { olderThan: 'yesterday' }, /olderThan "yesterday"/],
      ['/api/queues/a..%3Cb%3E/pause', {}, /queue "a..<b>"/],
    ];
    for (const [path, body, message] of posts) {
      const res = await post(d, path, body);
      expect(res.status, path).toBe(400);
      expect(res.body.message, path).toMatch(message);
    }
    expect((await get(d, '/api/jobs/987654')).status).toBe(404);
  });

  it('pages over 10,000 jobs newest first with a cursor, and filters by name', async () => {
    const d = await start(adapter, { workers: false });
    for (let i = 0; i < 10; i++) {
      await d.queue.enqueueMany(Array.from({ length: 1000 }, (_, j) => ({ name: j % 10 === 0 ? 'flaky' : 'work', payload: { n: i * 1000 + j } })));
    }
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await get(d, `/api/jobs?queue=mail&state=available&limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.jobs.map((j: { id: string }) => Number(j.id)));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(10);
    expect(seen).toHaveLength(10_000);
    expect(new Set(seen).size).toBe(10_000);
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
    const flaky = await get(d, '/api/jobs?name=flaky&limit=1000');
    expect(flaky.body.jobs).toHaveLength(1000);
    expect(flaky.body.jobs.every((j: { name: string }) => j.name === 'flaky')).toBe(true);
    expect(flaky.body.nextCursor).toBeNull();
  });

  it('schedules and throughput', async () => {
    const d = await start(adapter);
    await d.queue.every('work', { tick: true }, { every: '1h', key: 'hourly' });
    const schedules = await get(d, '/api/schedules');
    expect(schedules.body.schedules).toEqual([expect.objectContaining({ key: 'hourly', job: 'work', queue: 'mail', spec: { every: 3_600_000 }, firing: false })]);
    expect(Date.parse(schedules.body.schedules[0].nextRunAt)).toBeGreaterThan(Date.now());
    await d.queue.enqueue('work', {});
    await deadJob(d);
    await d.queue.onIdle();
    const t = await get(d, '/api/throughput?queue=mail');
    const sum = (k: 'completed' | 'failed') => t.body.minutes.reduce((n: number, m: Record<string, number>) => n + (m[k] ?? 0), 0);
    expect([sum('completed'), sum('failed')]).toEqual([1, 1]);
    expect(t.body.minutes[0].minute).toMatch(/:00\.000Z$/);
    expect((await get(d, '/api/throughput?queue=none')).body).toEqual({ minutes: [] });
  });

  it('streams job events and actions as server-sent events', async () => {
    const d = await start(adapter, { workers: false });
    const ctrl = new AbortController();
    const res = await fetch(`${d.url}/api/events`, { headers: { 'x-dashboard-token': TOKEN }, signal: ctrl.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const reader = res.body!.getReader();
    await d.queue.enqueue('work', { hidden: 'payload' });
    let text = '';
    while (!text.includes('event: job')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toMatch(/"type":"enqueued"/);
    expect(text).not.toContain('payload');
    ctrl.abort();
  });

  it('logs every action with who, what and which job, and emits it on JobsDashboardEvents', async () => {
    const lines: string[] = [];
    const logger: LoggerService = { log: (m: string, ctx?: string) => void lines.push(`${ctx}: ${m}`), error() {}, warn() {}, debug() {}, verbose() {} };
    const d = await start(adapter, { logger, workers: false });
    const events: DashboardActionEvent[] = [];
    d.app.get(JobsDashboardEvents).actions$.subscribe((e) => events.push(e));
    const { id } = await d.queue.enqueue('work', {}, { delay: 60_000 });
    await post(d, `/api/jobs/${id}/cancel`);
    await post(d, '/api/queues/mail/pause');
    expect(lines).toContain(`JobsDashboard: ops (127.0.0.1) cancel: job ${id}`);
    expect(lines).toContain('JobsDashboard: ops (127.0.0.1) pause: queue mail');
    expect(events).toEqual([
      expect.objectContaining({ action: 'cancel', user: 'ops', jobIds: [id], queue: 'mail', affected: 1 }),
      expect.objectContaining({ action: 'pause', user: 'ops', queue: 'mail' }),
    ]);
  });
});
