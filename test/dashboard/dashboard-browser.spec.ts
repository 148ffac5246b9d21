import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ADAPTERS, dashboard, startDashboardApp, TOKEN, type DashboardApp } from '../fixtures/dashboard-app.js';

/** Debian's chromium package; CI installs it (.ci/run). Locally the suite is skipped without it. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  if (process.env.CI === 'true') throw new Error(`Chromium is not installed at ${CHROMIUM}: the dashboard's browser tests need it under CI (apt-get install -y chromium).`);
  console.warn(`[dashboard-browser] skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH).`);
}

const ARTIFACTS = 'test-results';

describe.skipIf(!available).each(ADAPTERS)('dashboard in headless Chromium on %s', (adapter) => {
  let browser: Browser;
  const apps: DashboardApp[] = [];
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    await Promise.all(apps.splice(0).map((a) => a.app.close()));
  });

  async function open(options: { workers?: boolean } = {}): Promise<{ d: DashboardApp; page: Page; dialogs: string[]; errors: string[] }> {
    const d = await startDashboardApp({ adapter, dashboard: dashboard(), workers: options.workers ?? true });
    apps.push(d);
    const context = await browser.newContext({ extraHTTPHeaders: { 'x-dashboard-token': TOKEN }, viewport: { width: 1200, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    const dialogs: string[] = [];
    const errors: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    return { d, page, dialogs, errors };
  }

  async function deadJob(d: DashboardApp): Promise<string> {
    const { id } = await d.queue.enqueue('flaky', {});
    for (let i = 0; (await d.queue.getJob(id))?.state !== 'dead'; i++) {
      if (i > 500) throw new Error('the flaky job did not die');
      await new Promise((r) => setTimeout(r, 20));
    }
    return id;
  }

  const count = (page: Page, queue: string, state: string) => page.locator(`tr[data-queue="${queue}"] td[data-count="${state}"]`);

  it('the overview shows every queue with its counts and the throughput chart (screenshot saved)', async () => {
    const { d, page, errors } = await open();
    await d.queue.enqueue('work', {});
    await d.queue.enqueue('report', {});
    await deadJob(d);
    await d.queue.onIdle();
    await d.queue.enqueue('work', {}, { delay: 3_600_000 });
    await page.goto(d.url);
    await expect.poll(() => count(page, 'mail', 'dead').textContent(), { timeout: 10_000 }).toBe('1');
    expect(await count(page, 'mail', 'completed').textContent()).toBe('1');
    expect(await count(page, 'mail', 'scheduled').textContent()).toBe('1');
    expect(await count(page, 'reports', 'completed').textContent()).toBe('1');
    expect(await page.locator('svg.chart').getAttribute('data-completed')).toBe('2');
    expect(await page.locator('svg.chart').getAttribute('data-failed')).toBe('1');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-overview-${adapter}.png`, fullPage: true });
    expect(errors).toEqual([]);
  });

  it('a job page shows an HTML payload as text and runs nothing', async () => {
    const { d, page, dialogs, errors } = await open({ workers: false });
    const evil = '<img src=x onerror=alert(1)>';
    const { id } = await d.queue.enqueue('work', { html: evil, nested: { script: '<script>alert(2)</script>' } });
    await page.goto(`${d.url}#/job/${id}`);
    const payload = page.locator('pre[data-field="payload"]');
    await expect.poll(() => payload.textContent(), { timeout: 10_000 }).toContain(evil);
    expect(await payload.textContent()).toContain('<script>alert(2)</script>');
    expect(await page.locator('main img, main script').count()).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('clicking Retry on a dead job makes it run to completion', async () => {
    const { d, page, errors } = await open();
    const id = await deadJob(d);
    d.flip.failing = false;
    await page.goto(`${d.url}#/job/${id}`);
    const state = page.locator('h1 [data-state]');
    await expect.poll(() => state.getAttribute('data-state'), { timeout: 10_000 }).toBe('dead');
    await page.locator('button[data-action="retry"]').click();
    await expect.poll(() => state.getAttribute('data-state'), { timeout: 10_000 }).toBe('completed');
    expect((await d.queue.getJob(id))!.state).toBe('completed');
    expect(errors).toEqual([]);
  });

  it('counts change live after an enqueue from outside the page; the pause control stops it', async () => {
    const { d, page, errors } = await open({ workers: false });
    await d.queue.enqueue('work', {});
    await page.goto(d.url);
    const available = count(page, 'mail', 'available');
    await expect.poll(() => available.textContent(), { timeout: 10_000 }).toBe('1');
    const before = Date.now();
    await d.queue.enqueue('work', {});
    await expect.poll(() => available.textContent(), { timeout: 10_000 }).toBe('2');
    console.log(`[dashboard-browser] live update seen ${Date.now() - before} ms after the enqueue`);

    await page.locator('#live-toggle').click();
    expect(await page.locator('#live-status').textContent()).toBe('Paused');
    await d.queue.enqueue('work', {});
    await new Promise((r) => setTimeout(r, 2500));
    expect(await available.textContent()).toBe('2');
    await page.locator('#live-toggle').click();
    await expect.poll(() => available.textContent(), { timeout: 10_000 }).toBe('3');
    expect(errors).toEqual([]);
  });

  it('without the event stream the page still updates, by polling', async () => {
    const { d, page } = await open({ workers: false });
    let refused = 0;
    await page.route('**/api/events', (route) => (refused++, route.abort()));
    await d.queue.enqueue('work', {});
    await page.goto(d.url);
    const available = count(page, 'mail', 'available');
    await expect.poll(() => available.textContent(), { timeout: 10_000 }).toBe('1');
    await d.queue.enqueue('work', {});
    await expect.poll(() => available.textContent(), { timeout: 10_000 }).toBe('2');
    expect(refused).toBeGreaterThan(0);
  });
});
