import type { PeriodCounts, QueueStats } from '../../core/storage.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Roll-up counts by minute, so totals survive pruning of the jobs themselves. Days and months are UTC. */
export class PeriodCounter {
  private readonly minutes = new Map<number, number>();
  private total = 0;

  add(at: number): void {
    const bucket = Math.floor(at / MINUTE);
    this.minutes.set(bucket, (this.minutes.get(bucket) ?? 0) + 1);
    this.total++;
  }

  /** Counts per minute (start, epoch ms) of the minutes that started within the hour before `now`. */
  lastHourByMinute(now: number): Map<number, number> {
    const out = new Map<number, number>();
    for (const [bucket, n] of this.minutes) if (bucket * MINUTE > now - HOUR) out.set(bucket * MINUTE, n);
    return out;
  }

  read(now: number): PeriodCounts {
    const d = new Date(now);
    const dayStart = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    const monthStart = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    const out: PeriodCounts = { lastHour: 0, today: 0, thisMonth: 0, allTime: this.total };
    for (const [bucket, n] of this.minutes) {
      const at = bucket * MINUTE;
      if (at < monthStart) {
        this.minutes.delete(bucket);
        continue;
      }
      if (at > now - HOUR) out.lastHour += n;
      if (at >= dayStart) out.today += n;
      out.thisMonth += n;
    }
    return out;
  }
}

export function emptyStats(queue: string, paused: boolean): QueueStats {
  const zero = () => ({ lastHour: 0, today: 0, thisMonth: 0, allTime: 0 });
  return { queue, waiting: 0, available: 0, scheduled: 0, running: 0, dead: 0, paused, completed: zero(), died: zero() };
}
