import type { StandardSchemaV1 } from '@standard-schema/spec';
import { DuplicateHandlerError } from '../errors/duplicate-handler.error.js';
import type { JobContext } from './job-context.js';
import type { Backoff, MaxRetries } from './retry-policy.js';

export type JobHandlerFn = (payload: unknown, ctx: JobContext) => unknown;

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
}

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
    return [...this.handlers.keys()];
  }

  /** Queues that have at least one handler here. */
  queues(): string[] {
    return [...new Set([...this.handlers.values()].map((h) => h.queue))];
  }

  get size(): number {
    return this.handlers.size;
  }
}
