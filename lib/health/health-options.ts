import { assertKnownKeys, knownKeys } from '../core/known-keys.js';
import { assertInt, assertName } from '../core/validation.js';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';

/** `JobsHealthModule.forRoot()` options. */
export interface JobsHealthModuleOptions {
  /** How long a check waits for the job storage before it reports the indicator down. Default 3000 ms. */
  timeoutMs?: number;
}

/** `JobsHealthIndicator.isHealthy()` options. */
export interface JobsHealthCheckOptions {
  /** The queues to report and hold to the thresholds. Default: every queue the storage knows. */
  queues?: string[];
  /** Down when a queue has more jobs available (due, waiting for a worker) than this. */
  maxAvailable?: number;
  /** Down when a queue's oldest available job has waited longer than this since it fell due. */
  maxOldestAgeMs?: number;
}

export const HEALTH_DEFAULTS = { timeoutMs: 3_000 };

export const JOBS_HEALTH_OPTIONS = Symbol('JOBS_HEALTH_OPTIONS');

const MODULE_KEYS = knownKeys<JobsHealthModuleOptions>({ timeoutMs: true });
const CHECK_KEYS = knownKeys<JobsHealthCheckOptions>({ queues: true, maxAvailable: true, maxOldestAgeMs: true });
const MAX_MS = 2 ** 31 - 1;

export function resolveHealthModuleOptions(options: JobsHealthModuleOptions = {}): Required<JobsHealthModuleOptions> {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('JobsHealthModule options', 'expected an object');
  assertKnownKeys(options, MODULE_KEYS, 'JobsHealthModule options');
  return { timeoutMs: options.timeoutMs === undefined ? HEALTH_DEFAULTS.timeoutMs : assertInt('timeoutMs', options.timeoutMs, 1, MAX_MS) };
}

export function resolveCheckOptions(options: JobsHealthCheckOptions | undefined): JobsHealthCheckOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('isHealthy options', 'expected an object');
  assertKnownKeys(options, CHECK_KEYS, 'isHealthy options');
  const out: JobsHealthCheckOptions = {};
  if (options.queues !== undefined) {
    if (!Array.isArray(options.queues)) throw new InvalidOptionsError('queues', 'expected an array of queue names');
    out.queues = [...new Set(options.queues.map((q) => assertName('queue name', q)))];
  }
  if (options.maxAvailable !== undefined) out.maxAvailable = assertInt('maxAvailable', options.maxAvailable, 0, Number.MAX_SAFE_INTEGER);
  if (options.maxOldestAgeMs !== undefined) out.maxOldestAgeMs = assertInt('maxOldestAgeMs', options.maxOldestAgeMs, 0, Number.MAX_SAFE_INTEGER);
  return out;
}
