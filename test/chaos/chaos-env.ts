/**
 * The chaos suite's knobs, from the environment, with defaults sized for CI (the whole run in
 * 2–5 minutes on 2 cores shared with other work: 2 when quiet, nearly 5 at a load of 14):
 *   CHAOS_JOBS          jobs per scenario (default 2000)
 *   CHAOS_KILLS         SIGKILLs per kill scenario (default 6)
 *   CHAOS_TERMINATIONS  rounds of pg_terminate_backend (default 5)
 *   CHAOS_RESTARTS      PostgreSQL stop/start cycles (default 2)
 *   CHAOS_SIGTERMS      SIGTERMs in the shutdown scenario (default 3)
 *   CHAOS_ANYTIME_SIGTERMS  SIGTERMs at any moment, idle or claiming (default 0: off, see shutdown.chaos.ts)
 *   CHAOS_SEED          seed of every random choice (default: from the clock; always printed)
 *   CHAOS_SLACK_MS      slack of the rescue-time bound (default 4000)
 */
const int = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
};

export const CHAOS = {
  jobs: int('CHAOS_JOBS', 2000),
  kills: int('CHAOS_KILLS', 6),
  terminations: int('CHAOS_TERMINATIONS', 5),
  restarts: int('CHAOS_RESTARTS', 2),
  sigterms: int('CHAOS_SIGTERMS', 3),
  anytimeSigterms: int('CHAOS_ANYTIME_SIGTERMS', 0),
  seed: int('CHAOS_SEED', Date.now() % 2 ** 31),
  slackMs: int('CHAOS_SLACK_MS', 4000),
};

export const IN_CI = process.env.CI === 'true';

/** A small seeded generator (mulberry32): the same seed gives the same kill schedule and job mix. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** In [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}
