import type { JobRecord, JobState } from '../../core/job-record.js';
import { PENDING_STATES } from '../../core/job-record.js';
import type { OldestAvailable, QueueStats, ThroughputMinute } from '../../core/storage.js';
import { emptyStats, PeriodCounter } from './period-counter.js';
import { sortThroughput } from '../../core/throughput.js';

const pending = new Set<JobState>(PENDING_STATES);

/** `stats()` in memory: state counts read off the jobs, completed / died events kept by period per queue. */
export class MemoryStats {
  private readonly completedCounts = new Map<string, PeriodCounter>();
  private readonly diedCounts = new Map<string, PeriodCounter>();

  completed(queue: string, now: number): void {
    this.counter(this.completedCounts, queue).add(now);
  }

  died(queue: string, now: number): void {
    this.counter(this.diedCounts, queue).add(now);
  }

  read(jobs: Iterable<JobRecord>, paused: ReadonlySet<string>, now: number): QueueStats[] {
    const byQueue = new Map<string, QueueStats>();
    const get = (queue: string) => {
      let s = byQueue.get(queue);
      if (!s) byQueue.set(queue, (s = emptyStats(queue, paused.has(queue))));
      return s;
    };
    for (const job of jobs) {
      const s = get(job.queue);
      if (pending.has(job.state)) job.runAt.getTime() <= now ? s.available++ : s.scheduled++;
      else if (job.state === 'running') s.running++;
      else if (job.state === 'waiting') s.waiting++;
      else if (job.state === 'dead') s.dead++;
    }
    for (const [queue, c] of this.completedCounts) get(queue).completed = c.read(now);
    for (const [queue, c] of this.diedCounts) get(queue).died = c.read(now);
    for (const queue of paused) get(queue);
    return [...byQueue.values()].sort((a, b) => a.queue.localeCompare(b.queue));
  }

  throughput(now: number): ThroughputMinute[] {
    const byKey = new Map<string, ThroughputMinute>();
    const add = (map: Map<string, PeriodCounter>, field: 'completed' | 'died') => {
      for (const [queue, c] of map) {
        for (const [minute, n] of c.lastHourByMinute(now)) {
          const key = `${queue}\u0000${minute}`;
          let t = byKey.get(key);
          if (!t) byKey.set(key, (t = { queue, minute, completed: 0, died: 0 }));
          t[field] += n;
        }
      }
    };
    add(this.completedCounts, 'completed');
    add(this.diedCounts, 'died');
    return sortThroughput([...byKey.values()]);
  }

  /** The oldest due waiting job of each of `queues` (a scan: the memory storage holds few jobs). */
  oldestAvailable(jobs: Iterable<JobRecord>, queues: string[], now: number): OldestAvailable[] {
    const wanted = new Set(queues);
    const oldest = new Map<string, number>();
    for (const job of jobs) {
      const runAt = job.runAt.getTime();
      if (!wanted.has(job.queue) || !pending.has(job.state) || runAt > now) continue;
      const seen = oldest.get(job.queue);
      if (seen === undefined || runAt < seen) oldest.set(job.queue, runAt);
    }
    return queues.flatMap((queue) => {
      const runAt = oldest.get(queue);
      return runAt === undefined ? [] : [{ queue, runAt: new Date(runAt), ageMs: now - runAt }];
    });
  }

  private counter(map: Map<string, PeriodCounter>, queue: string): PeriodCounter {
    let c = map.get(queue);
    if (!c) map.set(queue, (c = new PeriodCounter()));
    return c;
  }
}
