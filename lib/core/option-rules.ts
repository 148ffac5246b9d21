import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import type { MissedTicks } from './handler-registry.js';
import { checkMs } from './retry-policy.js';
import { assertInt } from './validation.js';

/**
 * The rules of job and queue options, in one place: the producer (`JobClient`), the
 * scheduler and handler declarations (`resolveHandler`) all check with these.
 */

/** Queue of a job whose handler and enqueue name none. */
export const DEFAULT_QUEUE = 'default';

/** Largest payload accepted at enqueue unless `maxPayloadBytes` says otherwise: 1 MiB of JSON. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/** Priorities run from -1,000,000 to 1,000,000; lower runs first. */
export const PRIORITY_MIN = -1_000_000;
export const PRIORITY_MAX = 1_000_000;

export function assertPriority(option: string, value: unknown): number {
  return assertInt(option, value, PRIORITY_MIN, PRIORITY_MAX);
}

export function assertMissedTicks(option: string, value: unknown): MissedTicks {
  if (value !== 'run-once' && value !== 'skip') throw new InvalidOptionsError(option, "expected 'run-once' or 'skip'");
  return value;
}

/** A duration that must be at least 1 ms (a timeout, a unique window). */
export function positiveMs(option: string, ms: unknown): number {
  const v = checkMs(option, ms);
  if (v === 0) throw new InvalidOptionsError(option, 'must be greater than 0');
  return v;
}
