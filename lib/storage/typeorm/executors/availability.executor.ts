import type { Step } from '../flow.js';
import type { DialectKind } from '../table-names.js';
import type { Executor, ManagerLike } from './executor.js';
import { asUnavailable } from './unavailable-errors.js';

/**
 * Every statement the storage runs goes through here: a driver error that says the database
 * cannot serve us now (see `unavailable-errors.ts`) leaves as a `StorageUnavailableError`,
 * whichever operation met it. Inside `transaction`, errors of the caller's own work (a
 * handler's queries) pass as they are; its statements run through `run` and the transaction's
 * own connect, begin and commit are classified.
 */
export class AvailabilityExecutor implements Executor {
  constructor(
    private readonly inner: Executor,
    private readonly kind: DialectKind,
  ) {}

  run<T>(step: Step<T>): Promise<T> {
    return this.inner.run(step).catch(this.rethrow);
  }

  runOn<T>(manager: ManagerLike, step: Step<T>): Promise<T> {
    return this.inner.runOn(manager, step).catch(this.rethrow);
  }

  transaction<T>(work: (manager: ManagerLike, run: <U>(step: Step<U>) => Promise<U>) => Promise<T>): Promise<T> {
    let fromWork: { error: unknown } | null = null;
    return this.inner
      .transaction(async (manager, run) => {
        try {
          return await work(manager, (step) => run(step).catch(this.rethrow));
        } catch (error) {
          fromWork = { error };
          throw error;
        }
      })
      .catch((err: unknown) => {
        throw fromWork !== null && fromWork.error === err ? err : asUnavailable(this.kind, err);
      });
  }

  private readonly rethrow = (err: unknown): never => {
    throw asUnavailable(this.kind, err);
  };
}
