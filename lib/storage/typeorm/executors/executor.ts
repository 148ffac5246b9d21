import type { Step } from '../flow.js';

/** Runs steps (see `flow.ts`) on a database connection. */
export interface Executor {
  run<T>(step: Step<T>): Promise<T>;
  /**
   * Runs a step on the caller's TypeORM `EntityManager`, inside its transaction when it has
   * one: the enqueue commits or rolls back with the caller's work.
   */
  runOn<T>(manager: ManagerLike, step: Step<T>): Promise<T>;
  /**
   * Opens a transaction, hands `work` its EntityManager and a way to run steps inside it;
   * commits when `work` resolves, rolls back when it throws.
   */
  transaction<T>(work: (manager: ManagerLike, run: <U>(step: Step<U>) => Promise<U>) => Promise<T>): Promise<T>;
}

/** The part of TypeORM's QueryRunner we use (the structured-result form of `query`). */
export interface QueryRunnerLike {
  query(sql: string, params: unknown[] | undefined, structured: true): Promise<{ records?: unknown[]; affected?: number | null }>;
}

/** The part of TypeORM's EntityManager we use. */
export interface ManagerLike {
  readonly queryRunner?: QueryRunnerLike;
  readonly dataSource?: unknown;
}
