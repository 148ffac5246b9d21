import type { PeriodCounts, QueueStats, ThroughputMinute } from '../../core/storage.js';
import { sortThroughput } from '../../core/throughput.js';
import type { CounterWindow, StatsRow } from './dialect.js';

const HOUR = 3_600_000;
export const MINUTE = 60_000;

/** Start of the minute after the one `at` is in. */
export const nextMinute = (at: number) => Math.floor(at / MINUTE) * MINUTE + MINUTE;

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

/**
 * Per-queue stats as of `at`, from the rows of `Dialect.statsRows` and the paused queues.
 * - running, dead: exact counters.
 * - pending (scheduled + available): an exact counter per queue and bucket, where a bucket is
 *   the minute a job comes due if that was after the minute it was counted in, else 0. Jobs
 *   in buckets after the current minute are scheduled; the current minute's split comes
 *   from the `boundary` count (pending jobs with `at < run_at <` the minute's end); the
 *   rest are available.
 * - completed, died: minute buckets (last hour; unfolded deltas too), hour buckets (today,
 *   this month), all-time rows.
 */
export function buildStats(rows: StatsRow[], paused: string[], at: number, window: CounterWindow): QueueStats[] {
  const pausedSet = new Set(paused);
  const byQueue = new Map<string, QueueStats & { pending: number }>();
  const get = (queue: string) => {
    let s = byQueue.get(queue);
    if (!s) {
      s = { queue, waiting: 0, available: 0, scheduled: 0, running: 0, dead: 0, paused: pausedSet.has(queue), completed: zero(), died: zero(), pending: 0 };
      byQueue.set(queue, s);
    }
    return s;
  };
  const minute = Math.floor(at / MINUTE) * MINUTE;
  for (const r of rows) {
    const s = get(r.queue);
    if (r.src === 'boundary') {
      s.scheduled += r.n;
      continue;
    }
    if (r.event === 'pending') {
      s.pending += r.n;
      if (r.bucket > minute) s.scheduled += r.n;
    } else if (r.event === 'running') s.running += r.n;
    else if (r.event === 'waiting') s.waiting += r.n;
    else if (r.event === 'dead') s.dead += r.n;
    else if (r.event === 'completed' || r.event === 'died') {
      const p = r.event === 'completed' ? s.completed : s.died;
      // Deltas are minute buckets; folded rows say their grain.
      const grain = r.src === 'delta' ? 'm' : r.grain;
      if (grain === 'a' || r.src === 'delta') p.allTime += r.n;
      if (grain === 'm' && r.bucket > window.hourAgo) p.lastHour += r.n;
      if ((grain === 'h' || r.src === 'delta') && r.bucket >= window.dayStart) p.today += r.n;
      if ((grain === 'h' || r.src === 'delta') && r.bucket >= window.monthStart) p.thisMonth += r.n;
    }
  }
  for (const queue of paused) get(queue);
  return [...byQueue.values()]
    .map(({ pending, ...s }) => ({ ...s, available: pending - s.scheduled }))
    .sort((a, b) => a.queue.localeCompare(b.queue));
}

/**
 * `throughput()` from the rows of `Dialect.statsRows`: the completed and died minute buckets
 * of the last hour (folded `m` counters and deltas not folded yet), per queue and minute.
 */
export function buildThroughput(rows: StatsRow[], window: CounterWindow): ThroughputMinute[] {
  const byKey = new Map<string, ThroughputMinute>();
  for (const r of rows) {
    if (r.event !== 'completed' && r.event !== 'died') continue;
    if (!(r.src === 'delta' || (r.src === 'counter' && r.grain === 'm')) || r.bucket <= window.hourAgo) continue;
    const minute = Number(r.bucket);
    const key = `${r.queue}\u0000${minute}`;
    let t = byKey.get(key);
    if (!t) byKey.set(key, (t = { queue: r.queue, minute, completed: 0, died: 0 }));
    t[r.event] += Number(r.n);
  }
  return sortThroughput([...byKey.values()]);
}
