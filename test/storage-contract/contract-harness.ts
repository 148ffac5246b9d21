import type { JobErrorInfo, NewJob } from '../../lib/core/job-record.js';
import type { Storage } from '../../lib/core/storage.js';

/** What the contract cases share: the harness a storage's spec file gives, the current one, jobs, errors and time. */

export interface ContractHarness {
  storage: Storage;
  /**
   * Lets `ms` of the storage's time pass: a fake clock moves; a database storage waits for
   * real (the cases keep these short).
   */
  advance(ms: number): Promise<void>;
  /** Drops the schema/database/file the harness made. */
  cleanup(): Promise<void>;
  /** The storage's `enqueueClaimed` stores jobs claimed (others store them waiting). */
  claimsOnEnqueue?: boolean;
  /**
   * Storages that keep roll-up counters: adds `n` to the stored state count `event` of
   * `queue` by hand, as a writer that did not record its change (or a manual edit) leaves it.
   * Absent: the storage counts its jobs and its counts cannot be skewed.
   */
  skewStateCount?(queue: string, event: 'pending' | 'running' | 'dead' | 'waiting', n: number): Promise<void>;
}

/**
 * The harness of the case running now, and its storage: `describeStorageContract` makes a
 * fresh one before each case. Module bindings are live, so the case files read the new one.
 */
export let h: ContractHarness;
export let s: Storage;

export function useHarness(next: ContractHarness): void {
  h = next;
  s = next.storage;
}

/** Time unit of the cases: long enough that a real database's clock passes it reliably, and that the few statements a case runs inside it fit even on a loaded 2-core machine. */
export const T = 150;

export function newJob(overrides: Partial<NewJob> = {}): NewJob {
  return { queue: 'q', name: 'job', payload: '{"n":1}', priority: 0, maxAttempts: 3, ...overrides };
}

/** Compares decimal ids as numbers (to check that ids come in input order). */
export const numeric = (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);

/** A failed attempt's error, as a worker reports it. */
export const error = (message = 'x'): JobErrorInfo => ({ name: 'Error', message, attempt: 1, at: new Date().toISOString() });
