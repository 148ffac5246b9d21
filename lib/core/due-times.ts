import type { Clock, TimerHandle } from './clock.js';

/** Due times closer than this share one wake-up. */
const DUE_GRAIN_MS = 5;
/** Due times remembered at most; later ones are left to the poll. */
const MAX_DUE_TIMES = 1000;

/**
 * The times (this node's clock) when jobs a queue's runner knows of fall due, soonest first,
 * with one timer armed for the soonest: at each, `onDue` runs (the runner claims). Every time
 * is kept (to DUE_GRAIN_MS), not only the soonest, so a later retry is not left to the poll.
 */
export class DueTimes {
  private readonly times: number[] = [];
  private timer: TimerHandle | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: () => void,
  ) {}

  add(at: number): void {
    if (!Number.isFinite(at)) return;
    const due = Math.ceil(at / DUE_GRAIN_MS) * DUE_GRAIN_MS;
    const times = this.times;
    let i = times.length;
    while (i > 0 && times[i - 1]! > due) i--;
    if (times[i - 1] === due) return;
    // Past the cap, the latest times are left to the poll: a bounded list, whatever the backlog.
    if (times.length >= MAX_DUE_TIMES) {
      if (i === times.length) return;
      times.pop();
    }
    times.splice(i, 0, due);
    if (i === 0) this.arm();
  }

  clear(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.times.length = 0;
  }

  /** Arms the timer for the soonest due time (re-arming it when a sooner one arrives). */
  private arm(): void {
    const { clock } = this;
    if (this.timer) clock.clearTimeout(this.timer);
    this.timer = null;
    const next = this.times[0];
    if (next === undefined) return;
    this.timer = clock.setTimeout(() => {
      this.timer = null;
      const now = clock.now();
      while (this.times.length && this.times[0]! <= now) this.times.shift();
      this.onDue();
      this.arm();
    }, Math.max(0, next - clock.now()));
  }
}
