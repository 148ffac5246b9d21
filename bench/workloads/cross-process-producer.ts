/**
 * The producer process of workload 7 (`cross-process.ts`): enqueues warm-up jobs, then `jobs`
 * jobs `gapMs` apart, each with one awaited call, and answers with when it called enqueue for
 * each (`sharedClockMs`).
 */
import { SYSTEMS } from '../systems/index.js';
import { sleep } from './common.js';
import { sharedClockMs, type ProducerReply, type ProducerTask } from './cross-process.js';

async function produce(task: ProducerTask): Promise<{ warmEnqueuedAt: number[]; enqueuedAt: number[] }> {
  const a = await SYSTEMS[task.system]!();
  const producer = await a.producer();
  try {
    const warmEnqueuedAt: number[] = [];
    for (let k = 0; k < task.warm; k++) {
      warmEnqueuedAt.push(sharedClockMs());
      await producer.enqueue({ i: -1 - k });
      await sleep(task.gapMs);
    }
    await sleep(task.settleMs);
    const enqueuedAt: number[] = [];
    const base = performance.now();
    for (let i = 0; i < task.jobs; i++) {
      const wait = base + i * task.gapMs - performance.now();
      if (wait > 0) await sleep(wait);
      enqueuedAt.push(sharedClockMs());
      await producer.enqueue({ i });
    }
    return { warmEnqueuedAt, enqueuedAt };
  } finally {
    await producer.close();
  }
}

process.once('message', (task: ProducerTask) => {
  void produce(task).then(
    (times): ProducerReply => ({ ok: true, ...times }),
    (err: unknown): ProducerReply => ({ ok: false, error: err instanceof Error ? err.message : String(err) }),
  ).then((reply) => process.send!(reply, () => process.exit(0)));
});
