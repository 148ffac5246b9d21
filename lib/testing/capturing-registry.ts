import { HandlerRegistry, type HandlerDefinition, type JobHandlerFn } from '../core/handler-registry.js';
import { isThenable } from '../core/job-run.js';

/**
 * The app's handler registry as the tester's executor sees it: the same handlers, each wrapped
 * to keep what it last threw per job id, so that an inline `enqueue` of a job that ends dead
 * rejects with the handler's own error object rather than its stored summary.
 */
export class CapturingRegistry extends HandlerRegistry {
  private readonly wrapped = new WeakMap<HandlerDefinition, HandlerDefinition>();

  constructor(
    private readonly inner: HandlerRegistry,
    private readonly thrown: Map<string, unknown>,
  ) {
    super();
  }

  override get(name: string): HandlerDefinition | undefined {
    const def = this.inner.get(name);
    if (!def || def.internal) return def;
    let wrapped = this.wrapped.get(def);
    if (!wrapped) {
      wrapped = { ...def, handler: this.capture(def.handler) };
      this.wrapped.set(def, wrapped);
    }
    return wrapped;
  }

  override names(): string[] {
    return this.inner.names();
  }

  override all(): HandlerDefinition[] {
    return this.inner.all();
  }

  private capture(handler: JobHandlerFn): JobHandlerFn {
    return (payload, ctx, record) => {
      const keep = (error: unknown) => {
        this.thrown.set(ctx.id, error);
        throw error;
      };
      this.thrown.delete(ctx.id);
      try {
        const value = handler(payload, ctx, record);
        return isThenable(value) ? value.then(undefined, keep) : value;
      } catch (error) {
        return keep(error);
      }
    };
  }
}
