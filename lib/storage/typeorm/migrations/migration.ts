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
}

/** The job states, for CHECK constraints. */
export const ALL_STATES = `('scheduled', 'available', 'retryable', 'running', 'completed', 'dead', 'cancelled')`;
export const PENDING_STATES = `('scheduled', 'available', 'retryable')`;
export const FINISHED_STATES = `('completed', 'dead', 'cancelled')`;
