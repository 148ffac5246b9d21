import { afterEach, describe, expect, it } from 'vitest';
import { JobsDashboardModule } from '../../lib/dashboard/jobs-dashboard.module.js';
import { ACTION_HEADERS, ADAPTERS, dashboard, NeverGuard, startDashboardApp, TOKEN, TokenGuard, type DashboardApp } from '../fixtures/dashboard-app.js';

const apps: DashboardApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.app.close()));
});

async function start(...args: Parameters<typeof startDashboardApp>): Promise<DashboardApp> {
  const d = await startDashboardApp(...args);
  apps.push(d);
  return d;
}

const post = (url: string, headers: Record<string, string> = ACTION_HEADERS, body = '{}') => fetch(url, { method: 'POST', headers, body });

describe.each(ADAPTERS)('dashboard access on %s', (adapter) => {
  it('without guards every page and API route answers 403 saying how to configure access', async () => {
    const d = await start({ adapter, dashboard: JobsDashboardModule.forRoot() });
    const { id } = await d.queue.enqueue('work', {});
    for (const path of ['', '/static/app.js', '/api/queues', '/api/jobs', `/api/jobs/${id}`, '/api/schedules', '/api/throughput', '/api/events']) {
      const res = await fetch(`${d.url}${path}`, { headers: { 'x-dashboard-token': TOKEN } });
      expect(res.status, path).toBe(403);
      expect(((await res.json()) as { message: string }).message, path).toMatch(/no guard is configured.*JobsDashboardModule\.forRoot\(\{ guards: \[/);
    }
    const res = await post(`${d.url}/api/jobs/${id}/cancel`);
    expect(res.status).toBe(403);
    expect((await d.queue.getJob(id))!.state).not.toBe('cancelled');
  });

  it('runs the guards on every route: refused without the token, allowed with it; a guard returning false is named', async () => {
    const d = await start({ adapter, dashboard: dashboard() });
    expect((await fetch(`${d.url}/api/queues`)).status).toBe(403);
    expect((await fetch(`${d.url}`)).status).toBe(403);
    expect((await fetch(`${d.url}/static/app.js`)).status).toBe(403);
    expect((await fetch(`${d.url}/api/queues`, { headers: { 'x-dashboard-token': TOKEN } })).status).toBe(200);
    const page = await fetch(`${d.url}`, { headers: { 'x-dashboard-token': TOKEN } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);

    const never = await start({ adapter, dashboard: dashboard({ guards: [TokenGuard, NeverGuard] }) });
    const res = await fetch(`${never.url}/api/queues`, { headers: { 'x-dashboard-token': TOKEN } });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { message: string }).message).toContain('NeverGuard');
  });

  it('every answer carries a Content-Security-Policy without inline scripts', async () => {
    const d = await start({ adapter, dashboard: dashboard() });
    for (const path of ['', '/api/queues', '/static/app.js']) {
      const res = await fetch(`${d.url}${path}`, { headers: { 'x-dashboard-token': TOKEN } });
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).not.toContain('unsafe-inline');
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
    const denied = await fetch(`${d.url}/api/queues`);
    expect(denied.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('an action needs Content-Type: application/json and X-Jobs-Dashboard: 1, else 403', async () => {
    const d = await start({ adapter, dashboard: dashboard(), workers: false });
    const { id } = await d.queue.enqueue('work', {}, { delay: 60_000 });
    const url = `${d.url}/api/jobs/${id}/cancel`;
    const noHeader = await post(url, { 'content-type': 'application/json', 'x-dashboard-token': TOKEN });
    expect(noHeader.status).toBe(403);
    expect(((await noHeader.json()) as { message: string }).message).toContain('X-Jobs-Dashboard: 1');
    const textBody = await post(url, { 'content-type': 'text/plain', 'x-jobs-dashboard': '1', 'x-dashboard-token': TOKEN });
    expect(textBody.status).toBe(403);
    expect(((await textBody.json()) as { message: string }).message).toContain('Content-Type: application/json');
    expect((await d.queue.getJob(id))!.state).toBe('scheduled');
    expect((await post(url)).status).toBe(200);
    expect((await d.queue.getJob(id))!.state).toBe('cancelled');
  });

  it('readOnly shows everything and refuses every action with 403', async () => {
    const d = await start({ adapter, dashboard: dashboard({ guards: [TokenGuard], readOnly: true }), workers: false });
    const { id } = await d.queue.enqueue('work', {}, { delay: 60_000 });
    const get = await fetch(`${d.url}/api/config`, { headers: { 'x-dashboard-token': TOKEN } });
    expect(await get.json()).toEqual({ readOnly: true, redactPayloads: false });
    for (const path of [`/api/jobs/${id}/cancel`, `/api/jobs/${id}/retry`, `/api/jobs/${id}/run-now`, '/api/jobs/bulk', '/api/queues/mail/pause', '/api/queues/mail/resume', '/api/queues/mail/retry-dead', '/api/queues/mail/prune']) {
      const res = await post(`${d.url}${path}`);
      expect(res.status, path).toBe(403);
      expect(((await res.json()) as { message: string }).message, path).toContain('read-only');
    }
    expect((await d.queue.getJob(id))!.state).toBe('scheduled');
    expect((await d.queue.stats()).find((s) => s.queue === 'mail')?.paused ?? false).toBe(false);
  });

  it('mounts under the global prefix at the given path; the page links relative to it', async () => {
    const d = await start({ adapter, dashboard: dashboard({ guards: [TokenGuard], path: '/admin/jobs/' }), globalPrefix: 'v1', path: 'admin/jobs' });
    expect(d.url).toMatch(/\/v1\/admin\/jobs$/);
    expect((await fetch(`${d.url}/api/queues`, { headers: { 'x-dashboard-token': TOKEN } })).status).toBe(200);
    const html = await (await fetch(d.url, { headers: { 'x-dashboard-token': TOKEN } })).text();
    expect(html).toContain('<base href="/v1/admin/jobs/">');
    expect((await fetch(d.url.replace('/admin/jobs', '/jobs') + '/api/queues', { headers: { 'x-dashboard-token': TOKEN } })).status).toBe(404);
  });

  it('forRootAsync takes guards and flags from a factory', async () => {
    const d = await start({
      adapter,
      dashboard: JobsDashboardModule.forRootAsync({ path: 'ops', useFactory: async () => ({ guards: [TokenGuard], redactPayloads: true }) }),
      path: 'ops',
    });
    const { id } = await d.queue.enqueue('work', { secret: 's3cr3t' });
    expect((await fetch(`${d.url}/api/queues`)).status).toBe(403);
    const job = await (await fetch(`${d.url}/api/jobs/${id}`, { headers: { 'x-dashboard-token': TOKEN } })).json();
    expect(job).toMatchObject({ id, payload: null, redacted: true });
    expect(JSON.stringify(job)).not.toContain('s3cr3t');
  });
});

describe('dashboard options', () => {
  it('refuses a path that is not plain segments, unknown options and guards that are not classes', () => {
    expect(() => JobsDashboardModule.forRoot({ path: '../x' })).toThrow(/path/);
    expect(() => JobsDashboardModule.forRoot({ path: 'a b' })).toThrow(/path/);
    expect(() => JobsDashboardModule.forRoot({ guard: [TokenGuard] } as never)).toThrow(/unknown option 'guard'/);
    expect(() => JobsDashboardModule.forRoot({ guards: ['x'] as never })).toThrow(/guards/);
    expect(() => JobsDashboardModule.forRoot({ readOnly: 'yes' as never })).toThrow(/readOnly/);
  });
});
