import type { PeriodCounts, QueueStats } from '../../core/storage.js';
import type { CounterRow, CounterWindow, StateCountRow } from './dialect.js';

const HOUR = 3_600_000;

/**
 * Period bounds for `stats()`, from the database's clock. Days and months are UTC.
 * "Last hour" sums whole-minute buckets that started within the hour, like the memory
 * storage: it may include up to a minute more than 60 minutes back, never less.
 */
export function counterWindow(now: number): CounterWindow {
  const d = new Date(now);
  return {
    hourAgo: now - HOUR,
    dayStart: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()),
    monthStart: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1),
  };
}

const zero = (): PeriodCounts => ({ lastHour: 0, today: 0, thisMonth: 0, allTime: 0 });

/** Per-queue stats from grouped state counts, roll-up counters and paused queues. */
export function buildStats(states: StateCountRow[], counters: CounterRow[], paused: string[]): QueueStats[] {
  const pausedSet = new Set(paused);
  const byQueue = new Map<string, QueueStats>();
  const get = (queue: string) => {
    let s = byQueue.get(queue);
    if (!s) {
      s = { queue, available: 0, scheduled: 0, running: 0, dead: 0, paused: pausedSet.has(queue), completed: zero(), died: zero() };
      byQueue.set(queue, s);
    }
    return s;
  };
  for (const row of states) {
    const s = get(row.queue);
    if (row.state === 'running') s.running += row.n;
    else if (row.state === 'dead') s.dead += row.n;
    else if (row.due) s.available += row.n;
    else s.scheduled += row.n;
  }
  for (const c of counters) {
    const counts = { lastHour: c.lastHour, today: c.today, thisMonth: c.thisMonth, allTime: c.allTime };
    if (c.event === 'completed') get(c.queue).completed = counts;
    else get(c.queue).died = counts;
  }
  for (const queue of paused) get(queue);
  return [...byQueue.values()].sort((a, b) => a.queue.localeCompare(b.queue));
}
