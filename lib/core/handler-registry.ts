import type { StandardSchemaV1 } from '@standard-schema/spec';
import { DuplicateHandlerError } from '../errors/duplicate-handler.error.js';
import type { JobContext } from './job-context.js';
import type { JobRecord } from './job-record.js';
import type { Backoff, MaxRetries } from './retry-policy.js';
import type { ScheduleSpec } from './schedule-spec.js';

/** `record` is passed for the module's own internal handlers (recurring schedules); user handlers take two arguments. */
export type JobHandlerFn = (payload: unknown, ctx: JobContext, record: JobRecord) => unknown;

/** One `@Job` method, resolved against its processor's defaults. */
export interface HandlerDefinition {
  name: string;
  queue: string;
  handler: JobHandlerFn;
  /** `Class.method`, for error messages. */
  owner: string;
  maxRetries?: MaxRetries;
  backoff?: Backoff;
  timeoutMs?: number;
  priority?: number;
  schema?: StandardSchemaV1;
  /**
   * Run the handler inside a storage transaction that also completes the job (`ctx.manager`),
   * where the storage supports it (TypeORM).
   */
  transactional?: boolean;
  /** Default group of its enqueues: a name, or a function of the payload (checked at each enqueue). */
  group?: string | ((payload: unknown) => unknown);
  /** Declared recurring schedule (`@Job(name, { cron | every })`). */
  schedule?: ScheduleSpec;
  missedTicks?: MissedTicks;
  /** The module's own handlers (recurring schedules): not listed, no queue of their own. */
  internal?: boolean;
}

/** After an outage: run the most recent missed tick once (default), or skip missed ticks. */
export type MissedTicks = 'run-once' | 'skip';

/**
 * The runtime map from job name to handler. A `Map`, never object properties, so a job name
 * such as `__proto__` cannot reach anything else.
 */
export class HandlerRegistry {
  private readonly handlers = new Map<string, HandlerDefinition>();

  register(def: HandlerDefinition): void {
    const existing = this.handlers.get(def.name);
    if (existing) {
      if (existing.owner === def.owner && existing.handler === def.handler) return;
      throw new DuplicateHandlerError(def.name, existing.owner, def.owner);
    }
    this.handlers.set(def.name, def);
  }

  get(name: string): HandlerDefinition | undefined {
    return this.handlers.get(name);
  }

  names(): string[] {
    return this.all().map((h) => h.name);
  }

  /** User handlers (not the module's internal ones). */
  all(): HandlerDefinition[] {
    return [...this.handlers.values()].filter((h) => !h.internal);
  }

  /** Queues that have at least one handler here. */
  queues(): string[] {
    return [...new Set(this.all().map((h) => h.queue))];
  }

  get size(): number {
    return this.all().length;
  }
}
