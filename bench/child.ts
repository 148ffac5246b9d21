/**
 * One task in a fresh process: the parent forks this file, sends one task, gets one result
 * (or the error), and the process exits. Nothing of another system is loaded here.
 */
import { SYSTEMS } from './systems/index.js';
import { bareClaim, bareInsert, pgbench } from './workloads/ceiling.js';
import { crossProcess } from './workloads/cross-process.js';
import * as w from './workloads/workloads.js';

export interface Task {
  task: 'enqueue-one' | 'enqueue-bulk' | 'seed' | 'process' | 'latency' | 'cross-process' | 'seed-backlog' | 'backlog' | 'cleanup'
    | 'ceiling-insert' | 'ceiling-claim' | 'pgbench';
  system: string;
  params: w.Params;
}

export type Reply = { ok: true; result: w.Result } | { ok: false; error: string };

async function runTask(t: Task): Promise<w.Result> {
  if (t.task === 'ceiling-insert') return bareInsert(t.params);
  if (t.task === 'ceiling-claim') return bareClaim(t.params);
  if (t.task === 'pgbench') return pgbench(t.params);
  const factory = SYSTEMS[t.system];
  if (!factory) throw new Error(`unknown system '${t.system}'`);
  const a = await factory();
  switch (t.task) {
    case 'enqueue-one':
      return w.enqueueOne(a, t.params);
    case 'enqueue-bulk':
      return w.enqueueBulk(a, t.params);
    case 'seed':
      return w.seedJobs(a, t.params);
    case 'process':
      return w.processJobs(a, t.params);
    case 'latency':
      return w.latency(a, t.params);
    case 'cross-process':
      return crossProcess(a, t.params);
    case 'seed-backlog':
      return w.seedBacklog(a, t.params);
    case 'backlog':
      return w.backlog(a, t.params);
    case 'cleanup':
      await a.cleanup?.();
      return {};
  }
}

function reply(r: Reply): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) {
      process.stdout.write(JSON.stringify(r) + '\n');
      resolve();
      return;
    }
    process.send(r, () => resolve());
  });
}

process.on('unhandledRejection', (err) => {
  process.stderr.write(`[bench child] unhandled rejection: ${String((err as Error)?.stack ?? err)}\n`);
});

process.once('message', (msg: Task) => {
  runTask(msg).then(
    (result) => reply({ ok: true, result }),
    (err: unknown) => reply({ ok: false, error: err instanceof Error ? err.message : String(err) }),
  ).finally(() => {
    // Libraries may leave sockets or timers behind: the task is over, so is the process.
    process.exit(0);
  });
});
