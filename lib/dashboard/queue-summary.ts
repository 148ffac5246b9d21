import type { QueueStats } from '../core/storage.js';

/** One queue in `GET <path>/api/queues`. */
export interface QueueSummary {
  name: string;
  paused: boolean;
  /** Jobs by state now; `completed`: in the last hour. */
  counts: { available: number; scheduled: number; running: number; dead: number; completed: number };
  completedLastHour: number;
  /** Jobs that became dead in the last hour. */
  failedLastHour: number;
}

export function queueSummaries(stats: QueueStats[]): QueueSummary[] {
  return stats.map((s) => ({
    name: s.queue,
    paused: s.paused,
    counts: { available: s.available, scheduled: s.scheduled, running: s.running, dead: s.dead, completed: s.completed.lastHour },
    completedLastHour: s.completed.lastHour,
    failedLastHour: s.died.lastHour,
  }));
}
