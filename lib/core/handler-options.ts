import type { StandardSchemaV1 } from '@standard-schema/spec';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import type { HandlerDefinition, JobHandlerFn, MissedTicks } from './handler-registry.js';
import { assertKnownKeys, knownKeys } from './known-keys.js';
import { assertMissedTicks, assertMs, assertPriority, DEFAULT_QUEUE, TIMEOUT_LIMIT } from './option-rules.js';
import { toBackoff, toMaxRetries, type BackoffInput, type MaxRetriesInput } from './retry-policy.js';
import { parseSchedule } from './schedule-spec.js';
import type { JobTokenDefaults } from './job-token.js';
import { assertGroup } from './limits.js';
import { assertName } from './validation.js';

/** A handler's own policy (the options of `@Job`). */
export interface JobOptions {
  maxRetries?: MaxRetriesInput;
  backoff?: BackoffInput;
  /** ms */
  timeout?: number;
  /** Default priority of this job (lower runs first). */
  priority?: number;
  /** Any Standard Schema validator; the payload is checked at enqueue. */
  schema?: StandardSchemaV1;
  /** Recurring: a cron expression (five fields, or six with seconds first). */
  cron?: string;
  /** IANA time zone of `cron`; default UTC. */
  timezone?: string;
  /** Recurring: an interval in ms or a duration (`'30s'`, `'5m'`, `'1h'`). */
  every?: number | string;
  /** After an outage: run one missed tick (default `'run-once'`) or `'skip'` it. */
  missedTicks?: MissedTicks;
  /**
   * With a TypeORM storage: run the handler inside a transaction (`ctx.manager`) that also
   * marks the job completed, so its writes and the completion commit together.
   */
  transaction?: boolean;
  /** Default group of this job's enqueues (see `EnqueueOptions.group`): a name, or a function of the payload. */
  group?: string | ((payload: never) => string);
}

/** The defaults a group of handlers shares (the options of `@Processor`). */
export interface HandlerGroupOptions {
  /** Queue of the group's jobs; default `'default'`. */
  queue?: string;
  maxRetries?: MaxRetriesInput;
  backoff?: BackoffInput;
  /** ms; a run past it has its `ctx.signal` aborted and fails. */
  timeout?: number;
}

export const JOB_OPTION_KEYS = knownKeys<JobOptions>({
  maxRetries: true, backoff: true, timeout: true, priority: true, schema: true, cron: true, timezone: true, every: true,
  missedTicks: true, transaction: true, group: true,
});

export const HANDLER_GROUP_KEYS = knownKeys<HandlerGroupOptions>({ queue: true, maxRetries: true, backoff: true, timeout: true });

export interface HandlerDeclaration {
  name: unknown;
  handler: JobHandlerFn;
  /** `Class.method`, for error messages. */
  owner: string;
  /** The group's name in messages (`@Processor EmailProcessor`). */
  group: string;
  groupOptions: HandlerGroupOptions;
  options: JobOptions;
  /** The queue and policy of the `defineJob` token it was declared with, if any. */
  tokenDefaults?: JobTokenDefaults;
}

/**
 * Checks a declared handler's options (its own over its group's) and resolves them to the
 * registry's definition; every problem names the handler.
 */
export function resolveHandler(d: HandlerDeclaration): HandlerDefinition {
  const { owner, options: o, groupOptions: g } = d;
  assertKnownKeys(g, HANDLER_GROUP_KEYS, `the options of ${d.group}`);
  assertKnownKeys(o, JOB_OPTION_KEYS, `the @Job options of ${owner}`);
  const t = d.tokenDefaults ?? {};
  if (t.queue !== undefined && g.queue !== undefined && t.queue !== g.queue) {
    throw new InvalidOptionsError(
      `queue of ${owner}`,
      `its token (defineJob('${String(d.name)}', { queue: '${t.queue}' })) and ${d.group} ('${g.queue}') name different queues; ` +
        'producers that use the token would send the job where no worker of this handler looks. Make them agree',
    );
  }
  const queue = assertName(`queue name of ${d.group}`, g.queue ?? t.queue ?? DEFAULT_QUEUE);
  // The token's policy is the job's own: under @Job's options, over the processor's defaults.
  const timeout = o.timeout ?? t.timeoutMs ?? g.timeout;
  const maxRetries = o.maxRetries ?? t.maxRetries ?? g.maxRetries;
  const backoff = o.backoff ?? t.backoff ?? g.backoff;
  const priority = o.priority ?? t.priority;
  return {
    name: assertName(`job name of ${owner}`, d.name),
    queue,
    owner,
    handler: d.handler,
    // `!== undefined`, not truthiness: `maxRetries: 0` and `backoff: 0` are real settings.
    maxRetries: maxRetries === undefined ? undefined : toMaxRetries(maxRetries),
    backoff: backoff === undefined ? undefined : toBackoff(backoff),
    // 0: no timeout, as a handler's own option.
    timeoutMs: timeout === undefined ? undefined : assertMs(`timeout of ${owner}`, timeout, TIMEOUT_LIMIT),
    priority: priority === undefined ? undefined : assertPriority(`priority of ${owner}`, priority),
    schema: o.schema,
    transactional: o.transaction === true,
    group: groupOption(o.group, owner),
    ...scheduleOf(o, owner),
  };
}

function groupOption(value: unknown, owner: string): HandlerDefinition['group'] {
  if (value === undefined) return undefined;
  if (typeof value === 'function') return value as (payload: unknown) => unknown;
  return assertGroup(`group of ${owner}`, value);
}

function scheduleOf(o: JobOptions, owner: string): Pick<HandlerDefinition, 'schedule' | 'missedTicks'> {
  if (o.cron === undefined && o.every === undefined) {
    if (o.timezone !== undefined) throw new InvalidOptionsError(`timezone of ${owner}`, 'goes with `cron`');
    return {};
  }
  const missedTicks = o.missedTicks === undefined ? undefined : assertMissedTicks(`missedTicks of ${owner}`, o.missedTicks);
  return { schedule: parseSchedule(o, `schedule of ${owner}`), missedTicks };
}
