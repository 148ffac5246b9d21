/** Time as the engine sees it; tests swap in a `FakeClock` to move time by hand. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export type TimerHandle = { readonly __timer: true } | ReturnType<typeof setTimeout>;

/**
 * Longest delay one Node timer can take: 2^31 − 1 ms, about 24.8 days. Past it Node's
 * `setTimeout` overflows and fires after 1 ms.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Timers never keep the process alive: a worker waiting for work must not block exit. */
function unrefTimer(fn: () => void, ms: number): ReturnType<typeof setTimeout> {
  const t = setTimeout(fn, ms);
  t.unref?.();
  return t;
}

/**
 * A timer longer than one Node timer can take: a chain of timers of at most `MAX_TIMER_MS`
 * each, re-armed until the whole duration has passed. `clear` stops whichever link is armed.
 */
class ChainedTimer {
  readonly __timer = true as const;
  private current: ReturnType<typeof setTimeout> | null = null;

  constructor(fn: () => void, ms: number) {
    this.arm(fn, ms);
  }

  private arm(fn: () => void, left: number): void {
    const step = Math.min(left, MAX_TIMER_MS);
    this.current = unrefTimer(() => {
      this.current = null;
      if (left > step) this.arm(fn, left - step);
      else fn();
    }, step);
  }

  clear(): void {
    if (this.current) clearTimeout(this.current);
    this.current = null;
  }
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => (ms > MAX_TIMER_MS ? new ChainedTimer(fn, ms) : unrefTimer(fn, ms)),
  clearTimeout: (handle) => {
    if (handle instanceof ChainedTimer) handle.clear();
    else clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};
