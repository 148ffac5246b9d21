import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { MAX_TIMER_MS } from './clock.js';
import type { MissedTicks } from './handler-registry.js';
import { checkMs } from './retry-policy.js';
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

/** A job's timeout given at enqueue or as the module's default: 1 ms to 30 days. */
export function assertTimeoutMs(option: string, value: unknown): number {
  return assertMs(option, value, TIMEOUT_LIMIT, 1);
}

/** A duration that must be at least 1 ms (a unique window). */
export function positiveMs(option: string, ms: unknown): number {
  const v = checkMs(option, ms);
  if (v === 0) throw new InvalidOptionsError(option, 'must be greater than 0');
  return v;
}
