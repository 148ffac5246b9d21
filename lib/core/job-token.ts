import type { StandardSchemaV1 } from '@standard-schema/spec';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { assertKnownKeys, knownKeys } from './known-keys.js';
import { assertPriority, assertTimeoutMs } from './option-rules.js';
import { toBackoff, toMaxRetries, type Backoff, type BackoffInput, type MaxRetries, type MaxRetriesInput } from './retry-policy.js';
import { assertName } from './validation.js';

/**
 * Where a job goes and how it is retried, carried by its token so that a producer without the
 * handler (an enqueue-only instance, another codebase, a script) routes it as the workers expect.
 */
export interface JobTokenDefaults {
  readonly queue?: string;
  readonly maxRetries?: MaxRetries;
  readonly backoff?: Backoff;
  readonly timeoutMs?: number;
  readonly priority?: number;
}

/** A typed handle on a job name: `enqueue(SendWelcome, payload)` checks the payload's type. */
export interface JobToken<TPayload = unknown> {
  readonly name: string;
  readonly schema?: StandardSchemaV1<unknown, TPayload>;
  /** The job's queue and policy, set by `defineJob(name, { queue, maxRetries, … })`. */
  readonly defaults?: JobTokenDefaults;
  /** Type-only marker; never set. */
  readonly __payload?: TPayload;
}

export interface DefineJobOptions<TPayload> {
  /** Any Standard Schema validator (zod, valibot, arktype …), checked at enqueue. */
  schema?: StandardSchemaV1<unknown, TPayload>;
  /**
   * The job's queue. A `@Job(token)` handler must sit in a `@Processor` of this queue (or of
   * none), and a producer without the handler sends the job here instead of `'default'`.
   */
  queue?: string;
  /** The job's retry policy, timeout (ms) and priority: under `@Job`'s own options, over `@Processor`'s. */
  maxRetries?: MaxRetriesInput;
  backoff?: BackoffInput;
  timeout?: number;
  priority?: number;
}

const DEFINE_JOB_KEYS = knownKeys<DefineJobOptions<unknown>>({ schema: true, queue: true, maxRetries: true, backoff: true, timeout: true, priority: true });

export function defineJob<TPayload = unknown>(name: string, options: DefineJobOptions<TPayload> = {}): JobToken<TPayload> {
  assertName('job name', name);
  if (typeof options !== 'object' || options === null) throw new InvalidOptionsError(`defineJob('${name}')`, 'expected an options object');
  assertKnownKeys(options, DEFINE_JOB_KEYS, 'defineJob options');
  const where = (option: string) => `${option} of defineJob('${name}')`;
  const defaults: JobTokenDefaults = {
    ...(options.queue !== undefined && { queue: assertName(`queue name of defineJob('${name}')`, options.queue) }),
    ...(options.maxRetries !== undefined && { maxRetries: toMaxRetries(options.maxRetries) }),
    ...(options.backoff !== undefined && { backoff: toBackoff(options.backoff) }),
    ...(options.timeout !== undefined && { timeoutMs: assertTimeoutMs(where('timeout'), options.timeout) }),
    ...(options.priority !== undefined && { priority: assertPriority(where('priority'), options.priority) }),
  };
  return Object.freeze({ name, schema: options.schema, defaults: Object.freeze(defaults) });
}

export function isJobToken(value: unknown): value is JobToken {
  return typeof value === 'object' && value !== null && typeof (value as JobToken).name === 'string';
}

export function jobNameOf(nameOrToken: string | JobToken<unknown>): string {
  return typeof nameOrToken === 'string' ? nameOrToken : nameOrToken?.name;
}

/** The defaults a token carries (none for a plain name). */
export function tokenDefaultsOf(nameOrToken: string | JobToken<unknown>): JobTokenDefaults {
  return (typeof nameOrToken === 'object' && nameOrToken?.defaults) || {};
}
