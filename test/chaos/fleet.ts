import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChaosWorkerSettings } from './chaos-protocol.js';

/** The compiled worker (`npm run chaos` compiles with tsc before running vitest). */
export const CHAOS_WORKER_JS = fileURLToPath(new URL('../../dist/test/chaos/chaos-worker.js', import.meta.url));

/** How the suite ended a process; null: it has not, so any exit is its own doing. */
export type Ending = 'sigkill' | 'sigterm' | 'stop' | null;

export interface Member {
  index: number;
  pid: number;
  ledger: string;
  child: ChildProcess;
  ending: Ending;
  /** When the suite sent SIGKILL (epoch ms). */
  killedAt: number | null;
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
  exited: Promise<void>;
  /** From fork to 'ready', ms; null until it is ready. */
  bootMs: number | null;
}

/**
 * The worker processes of one scenario: starts them, kills them (SIGKILL), terminates them
 * (SIGTERM), stops them (IPC, app.close()), and remembers how each one ended, so the verdict
 * can tell the suite's kills from a process that died by itself.
 */
export class Fleet {
  readonly members: Member[] = [];
  private next = 0;
  private readonly booting: Promise<unknown>[] = [];
  /** Replacements that failed to start. */
  readonly bootFailures: string[] = [];

  constructor(
    private readonly dir: string,
    private readonly settings: Omit<ChaosWorkerSettings, 'ledger'>,
  ) {}

  /** Workers that are up and that the suite has not ended. */
  alive(): Member[] {
    return this.members.filter((m) => m.bootMs !== null && m.exit === null && m.ending === null);
  }

  /** Starts a replacement without waiting for it (a Nest app takes seconds to boot on a busy machine). */
  startInBackground(): void {
    this.booting.push(this.start().catch((err: unknown) => this.bootFailures.push((err as Error).message)));
  }

  /** Waits for the replacements still booting. */
  async booted(): Promise<void> {
    await Promise.all(this.booting);
  }

  /** Starts one worker; resolves once its app is up. */
  start(): Promise<Member> {
    if (!existsSync(CHAOS_WORKER_JS)) throw new Error(`${CHAOS_WORKER_JS} is missing: run 'npx tsc -p tsconfig.json' first (npm run chaos does).`);
    const index = this.next++;
    const ledger = join(this.dir, `worker-${index}.jsonl`);
    const child = fork(CHAOS_WORKER_JS, [], {
      env: { ...process.env, CHAOS_WORKER: JSON.stringify({ ...this.settings, ledger }) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const forkedAt = Date.now();
    const member: Member = { index, pid: child.pid ?? -1, ledger, child, ending: null, killedAt: null, exit: null, exited: Promise.resolve(), bootMs: null };
    member.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        member.exit = { code, signal };
        resolve();
      }),
    );
    this.members.push(member);
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      void member.exited.then(() => reject(new Error(`chaos worker ${index} exited (${JSON.stringify(member.exit)}) before it was ready`)));
      child.on('message', (msg: { type?: string }) => {
        if (msg?.type !== 'ready') return;
        member.bootMs = Date.now() - forkedAt;
        resolve(member);
      });
    });
  }

  /** SIGKILL; resolves once the process is gone. The kill time is the one the verdict uses. */
  async kill(member: Member): Promise<number> {
    member.ending = 'sigkill';
    member.child.kill('SIGKILL');
    member.killedAt = Date.now();
    await member.exited;
    return member.killedAt;
  }

  /** SIGTERM (the app's shutdown hooks drain it); resolves once it has exited. */
  async terminate(member: Member): Promise<void> {
    member.ending = 'sigterm';
    member.child.kill('SIGTERM');
    await member.exited;
  }

  /** Stops every live worker through app.close(); past `timeoutMs` kills the rest (and says so). */
  async stopAll(timeoutMs = 30_000): Promise<string[]> {
    await this.booted();
    const live = this.alive();
    for (const m of live) {
      m.ending = 'stop';
      m.child.send('stop');
    }
    const late: string[] = [];
    await Promise.all(
      live.map(async (m) => {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          m.exited.then(() => false),
          new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs))),
        ]);
        clearTimeout(timer);
        if (timedOut) {
          late.push(`worker ${m.index} (pid ${m.pid}) did not stop within ${timeoutMs} ms`);
          m.child.kill('SIGKILL');
          await m.exited;
        }
      }),
    );
    return late;
  }

  /** Kills whatever still runs (afterEach / afterAll, whatever happened). */
  async killAll(): Promise<void> {
    await Promise.all(
      this.members.filter((m) => m.exit === null).map(async (m) => {
        m.ending ??= 'sigkill';
        m.child.kill('SIGKILL');
        await m.exited;
      }),
    );
  }

  /** Processes that ended other than as the suite ended them: killed ones by SIGKILL, the rest with code 0. */
  badExits(): string[] {
    const bad: string[] = [];
    for (const m of this.members) {
      const exit = m.exit;
      if (!exit) continue;
      const ok = m.ending === 'sigkill' ? exit.signal === 'SIGKILL' : m.ending !== null && exit.code === 0;
      if (!ok) bad.push(`worker ${m.index} (pid ${m.pid}), ended by ${m.ending ?? 'itself'}: exit ${JSON.stringify(exit)}`);
    }
    return bad;
  }
}
