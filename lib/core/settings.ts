import { ENGINE_DEFAULTS, type EngineSettings } from './engine-options.js';
import { DEFAULT_BACKOFF, DEFAULT_MAX_RETRIES, toBackoff, toMaxRetries } from './retry-policy.js';
import { assertInt, assertName } from './validation.js';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { JOBS_OPTION_KEYS, RETENTION_OPTION_KEYS, type JobsOptions } from './jobs-options.js';
import { QUEUE_OPTION_KEYS } from './engine-options.js';
import { assertKnownKeys } from './known-keys.js';
import { assertQueueLimits } from './limits.js';
import { assertMs, assertTimeoutMs, DEFAULT_MAX_PAYLOAD_BYTES, MAX_INTERRUPTIONS, TIMER_LIMIT } from './option-rules.js';

export interface RuntimeSettings extends EngineSettings {
  workers: boolean;
  maxPayloadBytes: number;
}

const DAY = 86_400_000;

/**
 * Validates module options and fills in defaults; every problem names the option.
 * `otherKeys`: keys the caller reads itself (the Nest module's `storage`).
 */
export function resolveSettings(options: JobsOptions, otherKeys: readonly string[] = []): RuntimeSettings {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('JobsModule options', 'expected an object');
  }
  assertKnownKeys(options, otherKeys.length ? new Set([...JOBS_OPTION_KEYS, ...otherKeys]) : JOBS_OPTION_KEYS, 'JobsModule options');
  const queues: RuntimeSettings['queues'] = {};
  for (const [name, q] of Object.entries(options.queues ?? {})) {
    assertName('queue name', name);
    if (typeof q !== 'object' || q === null) throw new InvalidOptionsError(`queues.${name}`, 'expected { concurrency?, prefetch?, globalConcurrency?, rateLimit?, groups? }');
    assertKnownKeys(q, QUEUE_OPTION_KEYS, `queues.${name}`, `queues.${name}.`);
    queues[name] = {
      concurrency: q.concurrency === undefined ? undefined : assertInt(`queues.${name}.concurrency`, q.concurrency, 1, 10_000),
      prefetch: q.prefetch === undefined ? undefined : assertInt(`queues.${name}.prefetch`, q.prefetch, 0, 100_000),
      ...assertQueueLimits(`queues.${name}`, { globalConcurrency: q.globalConcurrency, rateLimit: q.rateLimit, groups: q.groups }),
    };
  }
  const leaseMs = ms('leaseMs', options.leaseMs, ENGINE_DEFAULTS.leaseMs, 10);
  const heartbeatIntervalMs = ms('heartbeatIntervalMs', options.heartbeatIntervalMs, Math.max(1, Math.floor(leaseMs / 3)), 1);
  if (heartbeatIntervalMs >= leaseMs) {
    throw new InvalidOptionsError('heartbeatIntervalMs', `must be shorter than leaseMs (${leaseMs}); a third of it is a good choice`);
  }
  return {
    workers: options.workers ?? true,
    queues,
    defaultConcurrency: options.defaultConcurrency === undefined
      ? ENGINE_DEFAULTS.defaultConcurrency
      : assertInt('defaultConcurrency', options.defaultConcurrency, 1, 10_000),
    pollIntervalMs: ms('pollIntervalMs', options.pollIntervalMs, ENGINE_DEFAULTS.pollIntervalMs, 1),
    leaseMs,
    heartbeatIntervalMs,
    rescueIntervalMs: ms('rescueIntervalMs', options.rescueIntervalMs, leaseMs, 1),
    shutdownTimeoutMs: ms('shutdownTimeoutMs', options.shutdownTimeoutMs, ENGINE_DEFAULTS.shutdownTimeoutMs, 0),
    abortGraceMs: ms('abortGraceMs', options.abortGraceMs, ENGINE_DEFAULTS.abortGraceMs, 0),
    ackBatchSize: options.ackBatchSize === undefined ? ENGINE_DEFAULTS.ackBatchSize : assertInt('ackBatchSize', options.ackBatchSize, 1, 10_000),
    maxRetries: options.maxRetries === undefined ? DEFAULT_MAX_RETRIES : toMaxRetries(options.maxRetries),
    backoff: options.backoff === undefined ? DEFAULT_BACKOFF : toBackoff(options.backoff),
    timeoutMs: options.timeout === undefined ? undefined : assertTimeoutMs('timeout', options.timeout),
    ...retention(options.retention),
    localHandoff: bool('localHandoff', options.localHandoff, true),
    maxInterruptions: options.maxInterruptions === undefined
      ? ENGINE_DEFAULTS.maxInterruptions
      : assertInt('maxInterruptions', options.maxInterruptions, 0, MAX_INTERRUPTIONS),
    maxPayloadBytes: options.maxPayloadBytes === undefined
      ? DEFAULT_MAX_PAYLOAD_BYTES
      : assertInt('maxPayloadBytes', options.maxPayloadBytes, 2, 64 * 1024 * 1024),
  };
}

function retention(r: JobsOptions['retention']): Pick<RuntimeSettings, 'retainCompletedMs' | 'maintenanceIntervalMs'> {
  if (r !== undefined && (typeof r !== 'object' || r === null)) throw new InvalidOptionsError('retention', 'expected { completedMs?, intervalMs? }');
  assertKnownKeys(r, RETENTION_OPTION_KEYS, 'retention', 'retention.');
  const completed = r?.completedMs;
  return {
    retainCompletedMs: completed === false
      ? null
      : completed === undefined ? ENGINE_DEFAULTS.retainCompletedMs : assertInt('retention.completedMs', completed, 0, 3650 * DAY),
    maintenanceIntervalMs: ms('retention.intervalMs', r?.intervalMs, ENGINE_DEFAULTS.maintenanceIntervalMs, 10),
  };
}

function bool(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidOptionsError(option, `expected true or false, got ${typeof value}`);
  return value;
}

/** A duration this instance waits for with one timer: at most 2^31 − 1 ms (Node's timer limit). */
function ms(option: string, value: number | undefined, fallback: number, min: number): number {
  return value === undefined ? fallback : assertMs(option, value, TIMER_LIMIT, min);
}

