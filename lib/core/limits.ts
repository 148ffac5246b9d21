import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { assertKnownKeys, knownKeys } from './known-keys.js';
import { TIMER_LIMIT } from './option-rules.js';
import { assertInt } from './validation.js';

/**
 * Cluster-wide flow control of a queue: the rules. Storages keep the limits and the state
 * they need (the start log, the block) in the database and apply `allowance` inside the
 * claim's own transaction, so every instance sharing the database enforces the same values.
 */

/** At most `limit` job starts per `intervalMs`, across all instances. */
export interface RateLimit {
  limit: number;
  intervalMs: number;
}

export interface QueueLimits {
  /** At most this many jobs of the queue running at once across all instances. */
  globalConcurrency?: number;
  rateLimit?: RateLimit;
}

/** A queue's stored limits, as `QueueService.getLimits` and `stats()` show them. */
export interface StoredQueueLimits {
  queue: string;
  limits: QueueLimits;
  /** Until when the queue starts no job (a handler threw `RateLimitedError`); null when not blocked. */
  blockedUntil: Date | null;
}

export const QUEUE_LIMIT_KEYS = knownKeys<QueueLimits>({ globalConcurrency: true, rateLimit: true });
const RATE_LIMIT_KEYS = knownKeys<RateLimit>({ limit: true, intervalMs: true });

/** Counts fit every storage's 32-bit integer columns. */
const MAX_COUNT = 1_000_000;

/** Validates limits (from options or `setLimits`); every problem names the option. `{}`: no limits. */
export function assertQueueLimits(option: string, value: unknown): QueueLimits {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionsError(option, 'expected { globalConcurrency?, rateLimit?: { limit, intervalMs } }');
  }
  assertKnownKeys(value, QUEUE_LIMIT_KEYS, option, `${option}.`);
  const v = value as Record<string, unknown>;
  const limits: QueueLimits = {};
  if (v.globalConcurrency !== undefined) limits.globalConcurrency = assertInt(`${option}.globalConcurrency`, v.globalConcurrency, 1, MAX_COUNT);
  if (v.rateLimit !== undefined) limits.rateLimit = assertRateLimit(`${option}.rateLimit`, v.rateLimit);
  return limits;
}

function assertRateLimit(option: string, value: unknown): RateLimit {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionsError(option, 'expected { limit, intervalMs }');
  }
  assertKnownKeys(value, RATE_LIMIT_KEYS, option, `${option}.`);
  const v = value as Record<string, unknown>;
  return {
    limit: assertInt(`${option}.limit`, v.limit, 1, MAX_COUNT),
    intervalMs: assertInt(`${option}.intervalMs`, v.intervalMs, 1, TIMER_LIMIT.max),
  };
}

/** A job's group: 1 to 128 characters, none of them control characters (it is shown in logs and the dashboard). */
export function assertGroup(option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > 128 || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new InvalidOptionsError(option, `expected a string of 1 to 128 characters without control characters, got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : String(value)}`);
  }
  return value;
}

/** `retryAfterMs` of a `RateLimitedError`: how long a queue stops starting jobs. */
export function assertRetryAfterMs(value: unknown): number {
  return assertInt('retryAfterMs', value, 0, TIMER_LIMIT.max);
}

export function sameLimits(a: QueueLimits, b: QueueLimits): boolean {
  return a.globalConcurrency === b.globalConcurrency
    && a.rateLimit?.limit === b.rateLimit?.limit
    && a.rateLimit?.intervalMs === b.rateLimit?.intervalMs;
}

export function describeLimits(l: QueueLimits): string {
  const parts: string[] = [];
  if (l.globalConcurrency !== undefined) parts.push(`globalConcurrency ${l.globalConcurrency}`);
  if (l.rateLimit) parts.push(`rateLimit ${l.rateLimit.limit} per ${l.rateLimit.intervalMs} ms`);
  return parts.length ? parts.join(', ') : 'none';
}

/**
 * Starts recorded for a rate limit: `[epoch ms on the storage's clock, how many]`, oldest
 * first, only those within the last interval. A claim adds one entry, so the log holds at
 * most `limit` entries: an exact sliding window (no interval-long span ever holds more than
 * `limit` starts), unlike fixed windows or a token bucket, which let twice as many through
 * across a boundary.
 */
export type StartLog = Array<[number, number]>;

/** What a claim under limits reads, under the lock of the queue's limits. */
export interface LimitState {
  limits: QueueLimits;
  blockedUntil: number | null;
  starts: StartLog;
}

/**
 * How many jobs a claim may start now (at most `want`), and the start log to store after it
 * claims `n` (call `recordStarts`). `running`: jobs of the queue running now (claimed rows,
 * prefetched ones included), needed only with a `globalConcurrency`.
 */
export function allowance(state: LimitState, now: number, running: number, want: number): number {
  if (state.blockedUntil !== null && state.blockedUntil > now) return 0;
  let n = want;
  const { globalConcurrency, rateLimit } = state.limits;
  if (globalConcurrency !== undefined) n = Math.min(n, globalConcurrency - running);
  if (rateLimit) n = Math.min(n, rateLimit.limit - startsWithin(state.starts, now, rateLimit.intervalMs));
  return Math.max(0, n);
}

/** The log after `n` starts at `now`, with entries older than the interval dropped. */
export function recordStarts(state: LimitState, now: number, n: number): StartLog {
  const rate = state.limits.rateLimit;
  if (!rate) return [];
  const kept = state.starts.filter(([t]) => t > now - rate.intervalMs);
  if (n > 0) kept.push([now, n]);
  return kept;
}

function startsWithin(log: StartLog, now: number, intervalMs: number): number {
  let sum = 0;
  for (const [t, n] of log) if (t > now - intervalMs) sum += n;
  return sum;
}

/** Decodes a stored start log; anything unreadable counts as no starts rather than failing every claim. */
export function parseStartLog(text: unknown): StartLog {
  if (typeof text !== 'string') return [];
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) return [];
    return value.filter((e): e is [number, number] =>
      Array.isArray(e) && e.length === 2 && Number.isFinite(e[0]) && Number.isSafeInteger(e[1]));
  } catch {
    return [];
  }
}

/**
 * The size of a claim of up to `limit` jobs, the first `startNow` starting at once (see
 * `Storage.claim`), under the queue's limits. Prefetched jobs hold their slots (they are
 * running rows), so they count against a `globalConcurrency`; under a rate limit a claim takes
 * only jobs that start at once, since their starts are counted when claimed (a buffered job
 * started later could crowd a later window).
 */
export function limitedClaim(state: LimitState, now: number, running: number, limit: number, startNow: number): { limit: number; startNow: number } {
  const want = state.limits.rateLimit ? Math.min(limit, startNow) : limit;
  const n = allowance(state, now, running, want);
  return { limit: n, startNow: Math.min(startNow, n) };
}

/** Whether the claim needs the count of running jobs. */
export function countsRunning(state: LimitState): boolean {
  return state.limits.globalConcurrency !== undefined;
}
