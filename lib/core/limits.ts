import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { assertKnownKeys, knownKeys } from './known-keys.js';
import { TIMER_LIMIT } from './option-rules.js';
import { assertInt } from './validation.js';

/**
 * Cluster-wide flow control of a queue: the rules. Storages keep the limits and the state
 * they need (the start log, the block) in the database and apply `allowance` inside the
 * claim's own transaction, so every instance sharing the database enforces the same values.
 */

/** At most `limit` job starts per `intervalMs`, across all instances. */
export interface RateLimit {
  limit: number;
  intervalMs: number;
}

export interface QueueLimits {
  /**
   * At most this many jobs of the queue running at once across all instances: each instance
   * holds some of these slots (`core/slots.ts`) and runs no more handlers than it holds.
   */
  globalConcurrency?: number;
  rateLimit?: RateLimit;
  /**
   * The same limits for each group of the queue separately (`EnqueueOptions.group`); claims go
   * round-robin across the groups with waiting jobs, so a group's backlog never holds the
   * others back, and a group at its limit never blocks them.
   */
  groups?: GroupLimits;
}

export interface GroupLimits {
  /** At most this many jobs of one group running at once across all instances. */
  concurrency?: number;
  rateLimit?: RateLimit;
}

/** A queue's stored limits, as `QueueService.getLimits` and `stats()` show them. */
export interface StoredQueueLimits {
  queue: string;
  limits: QueueLimits;
  /** Until when the queue starts no job (a handler threw `RateLimitedError`); null when not blocked. */
  blockedUntil: Date | null;
}

export const QUEUE_LIMIT_KEYS = knownKeys<QueueLimits>({ globalConcurrency: true, rateLimit: true, groups: true });
const GROUP_LIMIT_KEYS = knownKeys<GroupLimits>({ concurrency: true, rateLimit: true });
const RATE_LIMIT_KEYS = knownKeys<RateLimit>({ limit: true, intervalMs: true });

/** Counts fit every storage's 32-bit integer columns. */
const MAX_COUNT = 1_000_000;

/** Validates limits (from options or `setLimits`); every problem names the option. `{}`: no limits. */
export function assertQueueLimits(option: string, value: unknown): QueueLimits {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionsError(option, 'expected { globalConcurrency?, rateLimit?: { limit, intervalMs } }');
  }
  assertKnownKeys(value, QUEUE_LIMIT_KEYS, option, `${option}.`);
  const v = value as Record<string, unknown>;
  const limits: QueueLimits = {};
  if (v.globalConcurrency !== undefined) limits.globalConcurrency = assertInt(`${option}.globalConcurrency`, v.globalConcurrency, 1, MAX_COUNT);
  if (v.rateLimit !== undefined) limits.rateLimit = assertRateLimit(`${option}.rateLimit`, v.rateLimit);
  if (v.groups !== undefined) limits.groups = assertGroupLimits(`${option}.groups`, v.groups);
  return limits;
}

function assertGroupLimits(option: string, value: unknown): GroupLimits {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionsError(option, 'expected { concurrency?, rateLimit?: { limit, intervalMs } }');
  }
  assertKnownKeys(value, GROUP_LIMIT_KEYS, option, `${option}.`);
  const v = value as Record<string, unknown>;
  const limits: GroupLimits = {};
  if (v.concurrency !== undefined) limits.concurrency = assertInt(`${option}.concurrency`, v.concurrency, 1, MAX_COUNT);
  if (v.rateLimit !== undefined) limits.rateLimit = assertRateLimit(`${option}.rateLimit`, v.rateLimit);
  if (limits.concurrency === undefined && !limits.rateLimit) throw new InvalidOptionsError(option, 'set concurrency, rateLimit or both');
  return limits;
}

function assertRateLimit(option: string, value: unknown): RateLimit {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionsError(option, 'expected { limit, intervalMs }');
  }
  assertKnownKeys(value, RATE_LIMIT_KEYS, option, `${option}.`);
  const v = value as Record<string, unknown>;
  return {
    limit: assertInt(`${option}.limit`, v.limit, 1, MAX_COUNT),
    intervalMs: assertInt(`${option}.intervalMs`, v.intervalMs, 1, TIMER_LIMIT.max),
  };
}

/** A job's group: 1 to 128 characters, none of them control characters (it is shown in logs and the dashboard). */
export function assertGroup(option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > 128 || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new InvalidOptionsError(option, `expected a string of 1 to 128 characters without control characters, got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : String(value)}`);
  }
  return value;
}

/** `retryAfterMs` of a `RateLimitedError`: how long a queue stops starting jobs. */
export function assertRetryAfterMs(value: unknown): number {
  return assertInt('retryAfterMs', value, 0, TIMER_LIMIT.max);
}

export function sameLimits(a: QueueLimits, b: QueueLimits): boolean {
  return a.globalConcurrency === b.globalConcurrency && sameRate(a.rateLimit, b.rateLimit)
    && (a.groups === undefined) === (b.groups === undefined)
    && a.groups?.concurrency === b.groups?.concurrency && sameRate(a.groups?.rateLimit, b.groups?.rateLimit);
}

const sameRate = (a: RateLimit | undefined, b: RateLimit | undefined) => a?.limit === b?.limit && a?.intervalMs === b?.intervalMs;

export function describeLimits(l: QueueLimits): string {
  const parts: string[] = [];
  if (l.globalConcurrency !== undefined) parts.push(`globalConcurrency ${l.globalConcurrency}`);
  if (l.rateLimit) parts.push(`rateLimit ${l.rateLimit.limit} per ${l.rateLimit.intervalMs} ms`);
  if (l.groups?.concurrency !== undefined) parts.push(`groups.concurrency ${l.groups.concurrency}`);
  if (l.groups?.rateLimit) parts.push(`groups.rateLimit ${l.groups.rateLimit.limit} per ${l.groups.rateLimit.intervalMs} ms`);
  return parts.length ? parts.join(', ') : 'none';
}

/**
 * Starts recorded for a rate limit: `[epoch ms on the storage's clock, how many]`, oldest
 * first, only those within the last interval. A claim adds one entry, so the log holds at
 * most `limit` entries: an exact sliding window (no interval-long span ever holds more than
 * `limit` starts), unlike fixed windows or a token bucket, which let twice as many through
 * across a boundary.
 */
export type StartLog = Array<[number, number]>;

/** What a claim under limits reads, under the lock of the queue's limits. */
export interface LimitState {
  limits: QueueLimits;
  blockedUntil: number | null;
  starts: StartLog;
  /** The latest end of a block of one of the queue's groups: until then its claims are grouped even without `groups` limits. */
  groupBlockedUntil?: number | null;
  /** The group a grouped claim served last: the next one starts after it (round-robin). */
  groupCursor?: string | null;
}

/** What a grouped claim reads of one group. */
export interface GroupState {
  running: number;
  blockedUntil: number | null;
  starts: StartLog;
}

/**
 * How many jobs a claim may start now (at most `want`) under the queue's block and rate limit;
 * store the start log after it claims `n` (call `recordStarts`). A `globalConcurrency` is not
 * a claim's business: it is kept by the slots each instance holds (`core/slots.ts`).
 */
export function allowance(state: LimitState, now: number, want: number): number {
  if (state.blockedUntil !== null && state.blockedUntil > now) return 0;
  let n = want;
  const { rateLimit } = state.limits;
  if (rateLimit) n = Math.min(n, rateLimit.limit - startsWithin(state.starts, now, rateLimit.intervalMs));
  return Math.max(0, n);
}

/** The log after `n` starts at `now`, with entries older than the interval dropped. */
export function recordStarts(state: LimitState, now: number, n: number): StartLog {
  const rate = state.limits.rateLimit;
  if (!rate) return [];
  const kept = state.starts.filter(([t]) => t > now - rate.intervalMs);
  if (n > 0) kept.push([now, n]);
  return kept;
}

function startsWithin(log: StartLog, now: number, intervalMs: number): number {
  let sum = 0;
  for (const [t, n] of log) if (t > now - intervalMs) sum += n;
  return sum;
}

/** Decodes a stored start log; anything unreadable counts as no starts rather than failing every claim. */
export function parseStartLog(text: unknown): StartLog {
  if (typeof text !== 'string') return [];
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) return [];
    return value.filter((e): e is [number, number] =>
      Array.isArray(e) && e.length === 2 && Number.isFinite(e[0]) && Number.isSafeInteger(e[1]));
  } catch {
    return [];
  }
}

/**
 * The size of a claim of up to `limit` jobs, the first `startNow` starting at once (see
 * `Storage.claim`), under the queue's block and rate limit: under a rate limit a claim takes
 * only jobs that start at once, since their starts are counted when claimed (a buffered job
 * started later could crowd a later window).
 */
export function limitedClaim(state: LimitState, now: number, limit: number, startNow: number): { limit: number; startNow: number } {
  const want = state.limits.rateLimit ? Math.min(limit, startNow) : limit;
  const n = allowance(state, now, want);
  return { limit: n, startNow: Math.min(startNow, n) };
}

/** Whether the queue's claims go group by group: it has group limits, or one of its groups is blocked. */
export function claimsByGroup(state: LimitState, now: number): boolean {
  return state.limits.groups !== undefined || (state.groupBlockedUntil != null && state.groupBlockedUntil > now);
}

/** How many jobs of one group may start now under the queue's group limits and the group's block (Infinity: no limit). */
export function groupCapacity(limits: GroupLimits | undefined, g: GroupState | undefined, now: number): number {
  if (g?.blockedUntil != null && g.blockedUntil > now) return 0;
  let n = Infinity;
  if (limits?.concurrency !== undefined) n = Math.min(n, limits.concurrency - (g?.running ?? 0));
  if (limits?.rateLimit) n = Math.min(n, limits.rateLimit.limit - startsWithin(g?.starts ?? [], now, limits.rateLimit.intervalMs));
  return Math.max(0, n);
}

/**
 * Shares `n` job starts among `groups` (in round-robin order: those after the last served
 * first), one at a time, each up to its `capacity`: with many groups waiting, each gets one
 * before any gets two. Groups that get none are left out.
 */
export function shareAmongGroups(groups: string[], capacity: (group: string) => number, n: number): Map<string, number> {
  const left = new Map(groups.map((g) => [g, capacity(g)] as const).filter(([, c]) => c > 0));
  const share = new Map<string, number>();
  while (n > 0 && left.size) {
    for (const [g, c] of left) {
      if (n <= 0) break;
      share.set(g, (share.get(g) ?? 0) + 1);
      n--;
      if (c - 1 <= 0) left.delete(g);
      else left.set(g, c - 1);
    }
  }
  return share;
}

/** Groups in round-robin order: those after `cursor` (in the storage's order), then the rest. */
export function afterCursor(groups: string[], cursor: string | null | undefined): string[] {
  if (cursor == null) return groups;
  const i = groups.findIndex((g) => g > cursor);
  return i < 0 ? groups : [...groups.slice(i), ...groups.slice(0, i)];
}

/** A group's start log after `n` starts at `now` under the group rate limit. */
export function recordGroupStarts(limits: GroupLimits | undefined, g: GroupState | undefined, now: number, n: number): StartLog {
  return recordStarts({ limits: { rateLimit: limits?.rateLimit }, blockedUntil: null, starts: g?.starts ?? [] }, now, n);
}
