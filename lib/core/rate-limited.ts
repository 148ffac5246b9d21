import type { RateLimitedError } from '../errors/rate-limited.error.js';
import { coerceError } from './coerce-error.js';
import type { EngineLogger } from './engine-options.js';
import type { JobRecord } from './job-record.js';
import { TIMER_LIMIT } from './option-rules.js';
import type { Storage } from './storage.js';

/**
 * A handler threw `RateLimitedError`: its queue (for a job with a group: that group) starts no job for `retryAfterMs` on any
 * instance (the block is stored first, so no instance claims the job in between), then the
 * job goes back to available without counting the attempt. Returns whether this worker still
 * held the job (null: the hand-back failed, logged; the job returns when its lease expires). A `retryAfterMs` that is not a finite number of ms ≥ 0 is logged and read as 0
 * (the job is handed back, nothing is blocked); one past a Node timer's range is capped there.
 */
export async function handBackRateLimited(
  storage: Storage,
  logger: EngineLogger,
  workerId: string,
  record: JobRecord,
  error: RateLimitedError,
): Promise<{ held: boolean; blockMs: number } | null> {
  const blockMs = retryAfter(error.retryAfterMs);
  if (blockMs === null) logger.warn(`Job ${record.id} ('${record.name}') threw RateLimitedError with retryAfterMs ${String(error.retryAfterMs)}; expected milliseconds ≥ 0. Nothing is blocked.`);
  if (blockMs) {
    try {
      await storage.blockQueue(record.queue, blockMs, record.group);
    } catch (err) {
      logger.warn(`Could not block queue '${record.queue}' after a RateLimitedError: ${coerceError(err).message}`);
    }
  }
  try {
    const held = await storage.release([record.id], workerId);
    return { held: held.length > 0, blockMs: blockMs ?? 0 };
  } catch (err) {
    logger.warn(`Could not hand back rate-limited job ${record.id}; it returns when its lease expires: ${coerceError(err).message}`);
    return null;
  }
}

function retryAfter(value: unknown): number | null {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return null;
  return Math.min(Math.ceil(value), TIMER_LIMIT.max);
}
