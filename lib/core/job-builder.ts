import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { InvalidPayloadError } from '../errors/invalid-payload.error.js';
import { PayloadTooLargeError } from '../errors/payload-too-large.error.js';
import { UnknownJobError } from '../errors/unknown-job.error.js';
import type { Clock } from './clock.js';
import { BULK_JOB_KEYS, ENQUEUE_OPTION_KEYS, managerPerBatch, type BulkJob, type EnqueueOptions } from './enqueue-options.js';
import type { EngineLogger } from './engine-options.js';
import type { HandlerDefinition, HandlerRegistry } from './handler-registry.js';
import { headersJson } from './headers.js';
import type { NewJob } from './job-record.js';
import { jobNameOf, tokenDefaultsOf, type JobToken, type JobTokenDefaults } from './job-token.js';
import { assertKnownKeys } from './known-keys.js';
import { assertGroup } from './limits.js';
import { assertDelayMs, assertPriority, assertRunAt, assertTimeoutMs, DEFAULT_QUEUE } from './option-rules.js';
import { toBackoff, toMaxRetries, type MaxRetries } from './retry-policy.js';
import { validateWithSchema } from './schema.js';
import { uniquenessOf } from './unique-options.js';
import { assertName, jsonIssues } from './validation.js';

export interface JobClientSettings {
  /** When true, names with no handler here are refused (this instance runs the workers). */
  requireKnownJobs: boolean;
  maxPayloadBytes: number;
  maxRetries: MaxRetries;
}

const MAX_BULK = 10_000;

/**
 * The producer's checks: a job validated completely (name, payload, schema, size, options)
 * and shaped for the storage, before anything is stored (`JobClient` stores it).
 */
export class JobBuilder {
  private readonly registry: HandlerRegistry;
  private readonly settings: JobClientSettings;
  private readonly clock: Clock;
  private readonly logger: Pick<EngineLogger, 'warn'> | undefined;
  /** Job names already warned about by `routeBlind`. */
  private readonly blindNames = new Set<string>();

  constructor(deps: { registry: HandlerRegistry; settings: JobClientSettings; clock: Clock; logger?: Pick<EngineLogger, 'warn'> }) {
    this.registry = deps.registry;
    this.settings = deps.settings;
    this.clock = deps.clock;
    this.logger = deps.logger;
  }

  /** Validates and shapes the jobs of `enqueueMany` or `batch` (`label`). */
  async buildMany(items: BulkJob[], label: string): Promise<NewJob[]> {
    if (!Array.isArray(items)) throw new InvalidOptionsError(label, 'expected an array of { name, payload, options? }');
    if (items.length > MAX_BULK) {
      throw new InvalidOptionsError(label, `at most ${MAX_BULK} jobs per call, got ${items.length}; split the list`);
    }
    if (!items.length) return [];
    const built: Array<NewJob | Promise<NewJob>> = [];
    let pending = false;
    try {
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (typeof item !== 'object' || item === null) {
          throw new InvalidOptionsError(`${label}[${i}]`, 'expected { name, payload, options? }');
        }
        assertKnownKeys(item, BULK_JOB_KEYS, `${label}[${i}]`, `${label}[${i}].`);
        const itemOptions = item.options ?? {};
        if (typeof itemOptions === 'object' && itemOptions !== null && 'manager' in itemOptions) {
          throw new InvalidOptionsError(`${label}[${i}].options.manager`, managerPerBatch());
        }
        const job = this.build(item.name, item.payload, itemOptions, `${label}[${i}].options`);
        if (job instanceof Promise) pending = true;
        built.push(job);
      }
    } catch (err) {
      // Schema checks already started settle unobserved: keep their rejections handled.
      for (const job of built) if (job instanceof Promise) job.catch(() => undefined);
      throw err;
    }
    return pending ? await Promise.all(built) : (built as NewJob[]);
  }

  /**
   * Validates a job completely and shapes it for the storage. Synchronous unless the job has
   * a schema (a Standard Schema validator may be async): the one-call enqueue then spends no
   * promise on it. Throws (or rejects) with the first problem found, in a fixed order.
   */
  build(
    nameOrToken: string | JobToken<unknown>,
    payload: unknown,
    options: EnqueueOptions,
    where = 'enqueue options',
  ): NewJob | Promise<NewJob> {
    const name = assertName('job name', jobNameOf(nameOrToken));
    if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('options', 'expected an object');
    assertKnownKeys(options, ENQUEUE_OPTION_KEYS, where);
    const def = this.registry.get(name);
    if (!def && this.settings.requireKnownJobs) throw new UnknownJobError(name, this.registry.names());

    const token = tokenDefaultsOf(nameOrToken);
    if (!def && options.queue === undefined && token.queue === undefined) this.routeBlind(name);

    const schema = (typeof nameOrToken === 'object' ? nameOrToken.schema : undefined) ?? def?.schema;
    if (schema) return validateWithSchema(schema, name, payload).then((value) => this.shape(name, def, token, value, options));
    return this.shape(name, def, token, payload, options);
  }

  /**
   * A job with no handler here (an enqueue-only instance) and no queue named by the call or its
   * token goes to the default queue with the default policy, where its workers may never look:
   * said once per name, with the cure.
   */
  private routeBlind(name: string): void {
    if (this.blindNames.has(name)) return;
    this.blindNames.add(name);
    this.logger?.warn(
      `Job '${name}' has no handler on this instance and no queue was named: it goes to queue '${DEFAULT_QUEUE}' with the default retry policy. ` +
        `If its workers run it elsewhere, enqueue a token shared with them, defineJob('${name}', { queue, maxRetries, … }), or pass { queue }.`,
    );
  }

  /**
   * The checks after the schema: JSON, size, then each option. A job's queue and policy come
   * from the call, else its handler here, else its token (a producer without the handler).
   */
  private shape(name: string, def: HandlerDefinition | undefined, token: JobTokenDefaults, value: unknown, options: EnqueueOptions): NewJob {
    const issues = jsonIssues(value);
    if (issues.length) throw new InvalidPayloadError(name, issues);
    const text = JSON.stringify(value === undefined ? null : value);
    // UTF-8 takes at most 3 bytes per UTF-16 unit: count the bytes only when that could exceed the limit.
    if (text.length * 3 > this.settings.maxPayloadBytes) {
      const bytes = Buffer.byteLength(text, 'utf8');
      if (bytes > this.settings.maxPayloadBytes) throw new PayloadTooLargeError(name, bytes, this.settings.maxPayloadBytes);
    }

    const queue = assertName('queue name', options.queue ?? def?.queue ?? token.queue ?? DEFAULT_QUEUE);
    const priority = options.priority === undefined ? (def ? def.priority : token.priority) ?? 0 : assertPriority('priority', options.priority);
    const runAt = options.runAt === undefined ? null : assertRunAt('runAt', options.runAt);
    const delayMs = options.delay === undefined ? null : assertDelayMs('delay', options.delay, this.clock.now());
    const maxRetries =
      options.maxRetries === undefined ? (def ? def.maxRetries : token.maxRetries) ?? this.settings.maxRetries : toMaxRetries(options.maxRetries);
    // A handler here applies its backoff and timeout when it runs; a token's are stored with the job.
    const backoff = options.backoff === undefined ? (def ? undefined : token.backoff) : toBackoff(options.backoff);
    const timeoutMs = options.timeout === undefined ? (def ? null : token.timeoutMs ?? null) : assertTimeoutMs('timeout', options.timeout);
    const unique = uniquenessOf(options);
    const group = this.groupOf(def, value, options);
    return {
      queue,
      name,
      payload: text,
      headers: options.headers === undefined ? null : headersJson('headers', options.headers),
      priority,
      maxAttempts: maxRetries.maxAttempts,
      runAt,
      delayMs,
      uniqueKey: unique.uniqueKey,
      uniqueWhile: unique.uniqueWhile,
      uniqueTtlMs: unique.uniqueTtlMs,
      backoff: backoff?.spec ?? null,
      timeoutMs,
      group,
    };
  }

  /** The enqueue's `group`, else the handler's (a function of the payload), else none. */
  private groupOf(def: HandlerDefinition | undefined, payload: unknown, options: EnqueueOptions): string | null {
    if (options.group !== undefined) return assertGroup('group', options.group);
    const g = def?.group;
    if (g === undefined) return null;
    return assertGroup(`group of ${def!.owner}`, typeof g === 'function' ? g(payload) : g);
  }
}
