/**
 * What the chaos suite and its worker processes share: the worker's settings, the job kinds,
 * and the lines each worker appends to its own ledger file (JSON, one per line, written with
 * appendFileSync, so a `kill -9` loses nothing already recorded).
 */
import type { StorageConfig } from '../../lib/index.js';

export const CHAOS_QUEUE = 'chaos';

/**
 * plain: sleeps `ms`; flaky: fails on attempt 1, then as plain; tx: `@Job({ transaction: true })`,
 * writes one effect row through `ctx.manager`; long: sleeps `ms` (hundreds of ms), honouring its
 * signal, so a shutdown catches it running.
 */
export type JobKind = 'plain' | 'flaky' | 'tx' | 'long';
export const JOB_KINDS: readonly JobKind[] = ['plain', 'flaky', 'tx', 'long'];
export const jobName = (kind: JobKind) => `chaos-${kind}`;

export interface ChaosPayload {
  seq: number;
  ms: number;
}

export interface ChaosWorkerSettings {
  storage: StorageConfig;
  /** This process's ledger file. */
  ledger: string;
  /** Quoted table name of the transactional jobs' effects, and its placeholder style. */
  effectTable: string;
  placeholders: 'pg' | 'sqlite';
  concurrency: number;
  prefetch: number;
  leaseMs: number;
  heartbeatIntervalMs: number;
  rescueIntervalMs: number;
  pollIntervalMs: number;
  shutdownTimeoutMs: number;
  abortGraceMs: number;
  /** Retries of every chaos job (high: a kill costs attempts of prefetched jobs that never ran). */
  maxRetries: number;
  retryDelayMs: number;
}

export type LedgerLine =
  /** A handler run began. `willFail`: a flaky job's designed failure. */
  | { t: 'run'; job: string; seq: number; kind: JobKind; attempt: number; pid: number; at: number; willFail: boolean }
  /** The run's signal fired (ShutdownAbort, LeaseLostAbort …). */
  | { t: 'abort'; job: string; attempt: number; pid: number; at: number; reason: string }
  /** This process's worker id (the jobs' `lockedBy`), recorded once its app is up. */
  | { t: 'wid'; pid: number; wid: string }
  | { t: 'event'; type: string; job: string; attempt: number; pid: number; at: number }
  | { t: 'log'; level: 'warn' | 'error'; msg: string; pid: number; at: number }
  /** An uncaught exception or unhandled rejection: always a failure of the suite. */
  | { t: 'fatal'; kind: string; msg: string; stack?: string; pid: number; at: number }
  /** Every `beforeApplicationShutdown` hook (the drain) has finished. */
  | { t: 'drained'; pid: number; at: number }
  | { t: 'exit'; code: number; pid: number; at: number };
