import type { EngineLogger } from '../core/engine-options.js';
import { FakeClock } from '../core/fake-clock.js';
import type { JobsOptions } from '../core/jobs-options.js';
import { assertKnownKeys, knownKeys } from '../core/known-keys.js';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import type { StorageConfig } from '../storage/storage-options.js';

/**
 * `manual`: enqueued jobs are stored and nothing runs until the test calls `JobsTester.drain()`
 * (or `perform()`). `inline`: `enqueue` runs the job to completion before it resolves.
 */
export type JobsTestingMode = 'manual' | 'inline';

/** The module options that shape how a job runs, taken from the app's `JobsModule` options when it is overridden. */
export const POLICY_KEYS = ['queues', 'maxRetries', 'backoff', 'timeout', 'maxPayloadBytes'] as const;

export interface JobsTestingOptions extends Pick<JobsOptions, (typeof POLICY_KEYS)[number]> {
  /** Default `'manual'`. */
  mode?: JobsTestingMode;
  /** Where jobs are kept; default `{ type: 'memory' }`, following the fake clock. Any storage works (e.g. SQLite in a temp file). */
  storage?: StorageConfig;
  /** The fake clock the module runs on; default a new `FakeClock` (reach it with `JobsTester.clock`). */
  clock?: FakeClock;
  /** Where the module logs (a dead job, a result that is not JSON); default: silent. */
  logger?: EngineLogger | false;
}

export interface ResolvedTestingOptions {
  mode: JobsTestingMode;
  storage: StorageConfig;
  clock: FakeClock;
  logger: EngineLogger;
  policy: Pick<JobsOptions, (typeof POLICY_KEYS)[number]>;
}

const KEYS = knownKeys<JobsTestingOptions>({
  mode: true, storage: true, clock: true, logger: true, queues: true, maxRetries: true, backoff: true, timeout: true, maxPayloadBytes: true,
});

const silent: EngineLogger = { log: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Checks the testing options; `appOptions` are the overridden app's `JobsModule` options, whose
 * retry policy, timeout, payload limit and queues apply unless the testing options set them.
 */
export function resolveTestingOptions(options: JobsTestingOptions, appOptions?: Partial<JobsOptions> | null): ResolvedTestingOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('JobsTestingModule options', 'expected an object');
  assertKnownKeys(options, KEYS, 'JobsTestingModule options');
  const mode = options.mode ?? 'manual';
  if (mode !== 'manual' && mode !== 'inline') {
    throw new InvalidOptionsError('mode', `expected 'manual' or 'inline', got ${JSON.stringify(mode)}`);
  }
  if (options.clock !== undefined && !(options.clock instanceof FakeClock)) {
    throw new InvalidOptionsError('clock', 'expected a FakeClock (the tester moves it; a real clock cannot be moved)');
  }
  const clock = options.clock ?? new FakeClock();
  const policy: ResolvedTestingOptions['policy'] = {};
  for (const key of POLICY_KEYS) {
    const value = options[key] ?? appOptions?.[key];
    if (value !== undefined) Object.assign(policy, { [key]: value });
  }
  const logger = options.logger === undefined || options.logger === false ? silent : options.logger;
  return { mode, storage: options.storage ?? { type: 'memory', clock }, clock, logger, policy };
}
