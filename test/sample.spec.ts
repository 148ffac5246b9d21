import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const main = join(root, 'dist/sample/01-quick-start/main.js');

/** The sample as `npm start` runs it, in a fresh directory (its SQLite file lands there). */
class SampleProcess {
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];

  constructor(cwd: string, env: Record<string, string>) {
    this.child = spawn(process.execPath, [main], { cwd, env: { ...process.env, NO_COLOR: '1', PORT: '0', ...env } });
    const onData = (chunk: Buffer) => {
      this.output += chunk.toString();
      this.waiters = this.waiters.filter((w) => {
        const m = this.output.match(w.pattern);
        if (m) w.resolve(m);
        return !m;
      });
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.exited = new Promise((res) => this.child.on('exit', (code, signal) => res({ code, signal })));
  }

  /** Resolves when the log matches `pattern` (a guard fails the test after 15 s). */
  waitForLog(pattern: RegExp): Promise<RegExpMatchArray> {
    const m = this.output.match(pattern);
    if (m) return Promise.resolve(m);
    return new Promise((res, rej) => {
      const guard = setTimeout(() => rej(new Error(`log never matched ${pattern}:\n${this.output}`)), 15_000);
      this.waiters.push({ pattern, resolve: (found) => (clearTimeout(guard), res(found)) });
    });
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

describe('sample/01-quick-start', () => {
  let cwd: string;
  const started: SampleProcess[] = [];

  beforeAll(async () => {
    // The same build as `npm start`.
    await promisify(execFile)(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.sample.json'], { cwd: root });
    cpSync(join(root, 'lib/dashboard/static'), join(root, 'dist/lib/dashboard/static'), { recursive: true });
    cwd = mkdtempSync(join(tmpdir(), 'jobs-sample-'));
  }, 60_000);

  afterAll(() => {
    for (const p of started) p.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  });

  it('runs the demo: completed jobs, a retry that then succeeds, a dead job; exits by itself', async () => {
    const sample = new SampleProcess(cwd, { DEMO_EXIT_AFTER_IDLE: '1' });
    started.push(sample);
    const { code } = await sample.exited;
    const log = sample.output;
    expect(code, log).toBe(0);
    expect(log).toMatch(/enqueued\s+send-welcome #\d+ on queue 'email'/);
    expect(log).toMatch(/completed\s+send-welcome #\d+/);
    expect(log).toMatch(/failed\s+send-digest #\d+, attempt 1: SMTP connection reset/);
    expect(log).toMatch(/retrying\s+send-digest #\d+ in 300 ms/);
    expect(log).toMatch(/started\s+send-digest #\d+, attempt 2/);
    expect(log).toMatch(/completed\s+send-digest #\d+/);
    expect(log).toMatch(/dead\s+sync-newsletter #\d+ after 3 attempt\(s\): Newsletter API answered 503/);
    expect(log).toMatch(/Album 'Summer' built from 3 photos: beach.thumb.jpg, harbour.thumb.jpg, sunset.thumb.jpg/);
    expect(log).toMatch(/Import from customers.csv finished \(batch #\d+\): 4 of 4 chunks completed, 0 dead\./);
    expect(log.match(/Import from customers.csv finished/g)).toHaveLength(1);
    expect(log).toMatch(/Demo jobs finished: 9 completed, 1 dead/);
    expect(log).toMatch(/Workers drained; shut down cleanly/);
  });

  it('serves the jobs dashboard at /jobs to whoever has JOBS_DASHBOARD_TOKEN', async () => {
    const sample = new SampleProcess(cwd, { JOBS_DASHBOARD_TOKEN: 's3cret' });
    started.push(sample);
    const [, url] = await sample.waitForLog(/Listening on (http:\/\/\S+?)\./);
    await sample.waitForLog(/Jobs dashboard: \S+\/jobs/);
    const denied = await fetch(`${url}/jobs`, { headers: { authorization: `Basic ${Buffer.from('ops:wrong').toString('base64')}` } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toMatch(/^Basic /);
    const basic = { authorization: `Basic ${Buffer.from('ops:s3cret').toString('base64')}` };
    const page = await fetch(`${url}/jobs`, { headers: basic });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<base href="/jobs/">');
    expect((await fetch(`${url}/jobs/static/app.js`, { headers: basic })).status).toBe(200);
    const queues = await fetch(`${url}/jobs/api/queues`, { headers: { authorization: 'Bearer s3cret' } });
    expect(queues.status).toBe(200);
    expect(await queues.json()).toHaveProperty('queues');
    sample.kill('SIGTERM');
    await sample.exited;
  });

  it('enqueues from POST /emails/welcome (validated), reports the jobs up at GET /health, and shuts down cleanly on SIGTERM', async () => {
    const sample = new SampleProcess(cwd, {});
    started.push(sample);
    const [, url] = await sample.waitForLog(/Listening on (http:\/\/\S+?)\./);

    const bad = await fetch(`${url}/emails/welcome`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"userId":""}' });
    expect(bad.status).toBe(400);
    const ok = await fetch(`${url}/emails/welcome`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"userId":"zoe"}' });
    expect(ok.status).toBe(202);
    const { id } = (await ok.json()) as { id: string };
    await sample.waitForLog(new RegExp(`completed\\s+send-welcome #${id} -> \\{"to":"zoe@example.com"\\}`));
    const job = (await (await fetch(`${url}/emails/jobs/${id}`)).json()) as { state: string; attempt: number };
    expect(job).toMatchObject({ state: 'completed', attempt: 1 });
    const unknown = await fetch(`${url}/emails/jobs/999999999`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ message: "No job has the id '999999999'." });
    expect((await fetch(`${url}/emails/jobs/not-an-id`)).status).toBe(404);
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', info: { jobs: { status: 'up', workers: { state: 'running' }, queues: { email: { dead: expect.any(Number) } } } } });

    const dashboard = await fetch(`${url}/jobs/api/queues`);
    expect(dashboard.status).toBe(401);
    expect(await dashboard.json()).toMatchObject({ message: 'Set JOBS_DASHBOARD_TOKEN to open the jobs dashboard.' });

    sample.kill('SIGTERM');
    const { code, signal } = await sample.exited;
    expect(code === 0 || signal === 'SIGTERM', sample.output).toBe(true);
    expect(sample.output).toMatch(/Workers drained; shut down cleanly/);
  });
});
