import type { Flow } from '../flow.js';
import type { TableNames } from '../table-names.js';

/**
 * One schema change. Migrations are numbered, applied in order, recorded in
 * `<prefix>migration`, and never edited once released: a change is a new migration.
 */
export interface Migration {
  version: number;
  name: string;
  /** DDL statements, run in order. */
  up(t: TableNames): string[];
  /** Statements that depend on what the database holds (read first, then written), run after `up`. */
  run?(t: TableNames): Flow<void>;
}

/** The job states, for CHECK constraints. */
export const ALL_STATES = `('scheduled', 'available', 'retryable', 'running', 'completed', 'dead', 'cancelled')`;
/** The job states from migration 9 on (flows: `waiting`). */
export const ALL_STATES_9 = `('waiting', 'scheduled', 'available', 'retryable', 'running', 'completed', 'dead', 'cancelled')`;
export const PENDING_STATES = `('scheduled', 'available', 'retryable')`;
export const FINISHED_STATES = `('completed', 'dead', 'cancelled')`;
