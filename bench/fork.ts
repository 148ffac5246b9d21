import { fork, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Reply, Task } from './child.js';

const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));
const live = new Set<ChildProcess>();

/** Every child still running is killed when the parent leaves, however it leaves. */
export function killAllChildren(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

/**
 * Runs one task in a fresh child process. Resolves with the child's reply; a child that
 * times out is killed and its reply is the timeout error, a child that dies is its exit.
 */
export function runInChild(task: Task, timeoutMs: number, logFile: string, execArgv: string[] = []): Promise<Reply> {
  return new Promise((resolve) => {
    const child = fork(CHILD, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv });
    live.add(child);
    let tail = '';
    let settled = false;
    const onOutput = (d: Buffer) => {
      const text = d.toString();
      tail = (tail + text).slice(-1500);
      try {
        appendFileSync(logFile, `[${task.system}/${task.task}] ${text}`);
      } catch {
        // the log is a convenience
      }
    };
    child.stdout?.on('data', onOutput);
    child.stderr?.on('data', onOutput);
    const finish = (reply: Reply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(reply);
      if (child.exitCode === null) {
        // Give it a moment to exit on its own, then make sure.
        setTimeout(() => child.kill('SIGKILL'), 2000).unref();
      }
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ ok: false, error: `timeout: no result after ${Math.round(timeoutMs / 1000)} s (killed)` });
    }, timeoutMs);
    child.on('message', (msg: Reply) => finish(msg));
    child.on('error', (err) => finish({ ok: false, error: `child process error: ${err.message}` }));
    child.on('exit', (code, signal) => {
      live.delete(child);
      const last = tail.trim().split('\n').slice(-3).join(' | ');
      // A reply sent just before exiting may still be in flight on the IPC channel.
      setTimeout(() => finish({ ok: false, error: `child exited (${signal ?? code}) without a result${last ? `: ${last}` : ''}` }), 200);
    });
    child.send(task);
  });
}
