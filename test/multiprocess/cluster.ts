import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WorkerSettings } from './worker-main.js';

/** The compiled worker (npm test compiles with tsc before running vitest). */
export const WORKER_JS = fileURLToPath(new URL('../../dist/test/multiprocess/worker-main.js', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  out: string;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/** Starts one worker process and resolves once its app is up. */
export function startWorker(settings: WorkerSettings): Promise<WorkerProcess> {
  if (!existsSync(WORKER_JS)) throw new Error(`${WORKER_JS} is missing: run 'npx tsc -p tsconfig.json' first (npm test does).`);
  const child = fork(WORKER_JS, [], { env: { ...process.env, JOBS_MP: JSON.stringify(settings) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready`)));
    child.once('message', (msg) => {
      if (msg !== 'ready') return;
      resolve({
        child,
        out: settings.out,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.send('stop');
          await exited;
        },
        kill: async () => {
          child.kill('SIGKILL');
          await exited;
        },
      });
    });
  });
}

/** Lines each worker wrote: `<jobId> <attempt>[ started]`. */
export function readRuns(files: string[]): { id: string; attempt: number; started: boolean; tag: string | undefined }[] {
  return files.flatMap((f) =>
    existsSync(f)
      ? readFileSync(f, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => {
            const [id, attempt, tag] = line.split(' ');
            return { id: id!, attempt: Number(attempt), started: tag === 'started', tag };
          })
      : [],
  );
}

export async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 10; ; wait = Math.min(250, wait * 2)) {
    // A check that throws (a connection cut on purpose) counts as "not yet".
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, wait));
  }
}
