import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { MAX_TIMER_MS } from './clock.js';
import type { MissedTicks } from './handler-registry.js';
import { assertInt } from './validation.js';

/**
 * The rules of job and queue options, in one place: the producer (`JobClient`), the
 * scheduler, handler declarations (`resolveHandler`), the retry policy and the module's
 * settings (`resolveSettings`) all check with these.
 */

/** Queue of a job whose handler and enqueue name none. */
export const DEFAULT_QUEUE = 'default';

/** Largest payload accepted at enqueue unless `maxPayloadBytes` says otherwise: 1 MiB of JSON. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/** Priorities run from -1,000,000 to 1,000,000; lower runs first. */
export const PRIORITY_MIN = -1_000_000;
export const PRIORITY_MAX = 1_000_000;

const DAY = 86_400_000;

/** The largest value of a kind of duration, and how a message spells it. */
export interface MsLimit {
  max: number;
  says: string;
}

/** What this instance waits for with one timer (poll, heartbeat, rescue, shutdown …): Node's timer limit. */
export const TIMER_LIMIT: MsLimit = { max: MAX_TIMER_MS, says: 'about 24.8 days, the longest a Node timer waits' };

/** A job's timeout (module, `@Processor`, `@Job`, enqueue): 30 days. */
export const TIMEOUT_LIMIT: MsLimit = { max: 30 * DAY, says: '30 days' };

/**
 * A delay, a backoff, a unique window: 100 years, so that now + the delay is still a date
 * every storage holds (see `RUN_AT_MIN`/`RUN_AT_MAX`). A computed backoff is capped there too.
 */
export const DELAY_LIMIT: MsLimit = { max: 36_525 * DAY, says: '100 years' };

/**
 * Due dates every storage holds. MariaDB's DATETIME(3) runs from 1000-01-01 to 9999-12-31
 * (PostgreSQL's timestamptz, SQLite's epoch ms and JS Dates hold more, and the memory
 * storage follows the others so that no job is accepted on one storage and refused on another).
 */
export const RUN_AT_MIN = Date.UTC(1000, 0, 1);
export const RUN_AT_MAX = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** `maxInterruptions`: a job's `interruptions` count is a 32-bit integer column. */
export const MAX_INTERRUPTIONS = 1_000_000;

/** `maxAttempts` (`maxRetries + 1`) is a 32-bit integer column on PostgreSQL and MariaDB. */
export const MAX_RETRIES = 2 ** 31 - 2;

export function assertPriority(option: string, value: unknown): number {
  return assertInt(option, value, PRIORITY_MIN, PRIORITY_MAX);
}

export function assertMissedTicks(option: string, value: unknown): MissedTicks {
  if (value !== 'run-once' && value !== 'skip') throw new InvalidOptionsError(option, "expected 'run-once' or 'skip'");
  return value;
}

export const msOutOfRange = (min: number, limit: MsLimit, got: unknown) =>
  `expected a whole number of milliseconds from ${min} to ${limit.max} (${limit.says}), got ${String(got)}`;

/** A whole number of milliseconds from `min` to `limit.max`. */
export function assertMs(option: string, value: unknown, limit: MsLimit, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > limit.max) {
    throw new InvalidOptionsError(option, msOutOfRange(min, limit, value));
  }
  return value;
}

export const dateOutOfRange = (got: Date) =>
  `expected a Date from ${new Date(RUN_AT_MIN).toISOString()} to ${new Date(RUN_AT_MAX).toISOString()} ` +
  `(what every job storage holds: MariaDB's DATETIME ends there), got ${got.toISOString()}`;

export const delayPastLatestDate = (delayMs: number, now: number) =>
  `now (${new Date(now).toISOString()}) + ${delayMs} ms falls after ${new Date(RUN_AT_MAX).toISOString()}, ` +
  'the latest date every job storage holds; use a shorter delay';

export const retriesOutOfRange = (got: unknown) =>
  `expected a whole number from 0 to ${MAX_RETRIES} (maxRetries + 1 attempts are stored as a 32-bit integer), ` +
  `got ${String(got)}; MaxRetries.infinite() retries for ever`;

/** A due date: a valid Date that every storage can hold. */
export function assertRunAt(option: string, value: unknown): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new InvalidOptionsError(option, 'expected a valid Date');
  const t = value.getTime();
  if (t < RUN_AT_MIN || t > RUN_AT_MAX) throw new InvalidOptionsError(option, dateOutOfRange(value));
  return value;
}

/** A delay from `now`: at most 100 years, and `now + delay` still a date every storage holds. */
export function assertDelayMs(option: string, value: unknown, now: number): number {
  const ms = assertMs(option, value, DELAY_LIMIT);
  if (now + ms > RUN_AT_MAX) throw new InvalidOptionsError(option, delayPastLatestDate(ms, now));
  return ms;
}

/** How many times a job is retried: 0 to `MAX_RETRIES`. */
export function assertRetries(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > MAX_RETRIES) {
    throw new InvalidOptionsError(option, retriesOutOfRange(value));
  }
  return value;
}

/** A job's timeout given at enqueue or as the module's default: 1 ms to 30 days. */
export function assertTimeoutMs(option: string, value: unknown): number {
  return assertMs(option, value, TIMEOUT_LIMIT, 1);
}

