import {
  allowance,
  claimsByGroup,
  groupCapacity,
  limitedClaim,
  parseStartLog,
  recordGroupStarts,
  recordStarts,
  shareAmongGroups,
  type GroupState,
  type LimitState,
  type QueueLimits,
  type StoredQueueLimits,
} from '../../../core/limits.js';
import type { Dialect } from '../dialect.js';
import { step, type Row, type Step } from '../flow.js';
import { asNumber, asString } from '../job-row.js';
import { limitStatements } from './limit-statements.js';

/** Most groups a grouped claim considers (one index probe each). */
const MAX_GROUPS_PER_CLAIM = 500;
/** Rounds of sharing a grouped claim's allowance (see `claim`). */
const MAX_SHARE_PASSES = 3;

/**
 * Queue limits on every database: the claim of a limited queue, and the writes of limits and
 * blocks. The statements are `limit-statements.ts`'s, the rules `core/limits.ts`'s, the claim
 * statement itself the dialect's own.
 *
 * A limited queue's claim is one transaction: it locks the queue's `queue_limit` row (FOR
 * UPDATE; SQLite's BEGIN IMMEDIATE serializes every writer already), so claims of one limited
 * queue run one at a time across the cluster; counts the queue's running jobs when it has a
 * global concurrency (the rows themselves, so a finished or rescued job gives its slot back
 * with the write that changes its state, and no crash can leak one); claims at most what the
 * limits allow; and stores the rate limit's start log. Other queues are untouched.
 *
 * With group limits (or a blocked group) the claim goes group by group: running jobs per
 * group and the groups' rows (start logs, blocks) are read, the groups with pending jobs are
 * found by a skip scan of group_idx starting after the group served last (round-robin), the
 * allowance is shared among those below their limits one job at a time, and each group's
 * share is claimed with the dialect's claim restricted to it. Jobs without a group are claimed
 * only when no group has pending jobs (looking for them past a grouped backlog would walk it).
 */
export interface LimitFlows {
  claim(queue: string, workerId: string, limit: number, leaseMs: number, startNow: number): Step<Row[]>;
  set(queue: string, limits: QueueLimits): Step<void>;
  /** `group`: block only that group of the queue. */
  block(queue: string, ms: number, group: string | null): Step<void>;
  list(): Step<StoredQueueLimits[]>;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : asNumber(v));

function limitsOf(r: Row): QueueLimits {
  const limits: QueueLimits = {};
  const gc = num(r.global_concurrency);
  const rate = num(r.rate_limit);
  const interval = num(r.rate_interval_ms);
  if (gc !== null) limits.globalConcurrency = gc;
  if (rate !== null && interval !== null) limits.rateLimit = { limit: rate, intervalMs: interval };
  const groupConcurrency = num(r.group_concurrency);
  const groupRate = num(r.group_rate_limit);
  const groupInterval = num(r.group_rate_interval_ms);
  if (groupConcurrency !== null || (groupRate !== null && groupInterval !== null)) {
    limits.groups = {};
    if (groupConcurrency !== null) limits.groups.concurrency = groupConcurrency;
    if (groupRate !== null && groupInterval !== null) limits.groups.rateLimit = { limit: groupRate, intervalMs: groupInterval };
  }
  return limits;
}

export function limitFlows(dialect: Dialect): LimitFlows {
  const s = limitStatements(dialect.kind, dialect.tables);
  return {
    claim: (queue, workerId, limit, leaseMs, startNow) => {
      const inner = (n: number, first: number, group?: string | null) => dialect.claim(queue, workerId, n, leaseMs, first, group);
      const mode = inner(limit, startNow).mode;
      return step(mode === 'write' ? 'tx' : mode, function* () {
        const row = (yield s.lockRow(queue)).rows[0];
        if (!row) return yield* inner(limit, startNow).make();
        const now = asNumber(row.now);
        const state: LimitState = {
          limits: limitsOf(row),
          blockedUntil: num(row.blocked_until),
          starts: parseStartLog(row.starts),
          groupBlockedUntil: num(row.group_blocked_until),
          groupCursor: row.group_cursor == null ? null : asString(row.group_cursor),
        };
        const running = state.limits.globalConcurrency === undefined ? 0 : asNumber((yield s.running(queue)).rows[0]!.n);
        if (!claimsByGroup(state, now)) {
          const size = limitedClaim(state, now, running, limit, startNow);
          const rows = size.limit > 0 ? yield* inner(size.limit, size.startNow).make() : [];
          if (state.limits.rateLimit) yield s.saveStarts(queue, JSON.stringify(recordStarts(state, now, rows.length)), state.groupCursor ?? null);
          return rows;
        }
        // Grouped: only jobs that start at once (their starts count now, per group too).
        const n = allowance(state, now, running, Math.min(limit, startNow));
        if (n <= 0) return [];
        const groupLimits = state.limits.groups;
        const groups = new Map<string, GroupState>();
        const of = (g: string) => groups.get(g) ?? groups.set(g, { running: 0, blockedUntil: null, starts: [] }).get(g)!;
        if (groupLimits?.concurrency !== undefined) {
          for (const r of (yield s.runningByGroup(queue)).rows) of(asString(r.job_group)).running = asNumber(r.n);
        }
        for (const r of (yield s.groupRows(queue)).rows) {
          const g = of(asString(r.grp));
          g.blockedUntil = num(r.blocked_until);
          g.starts = parseStartLog(r.starts);
        }
        const capacity = (g: string) => groupCapacity(groupLimits, groups.get(g), now);
        const saturated = [...groups.keys()].filter((g) => capacity(g) === 0).length;
        const k = Math.min(MAX_GROUPS_PER_CLAIM, n + saturated);
        const candidates: string[] = (yield s.groupsAfter(queue, state.groupCursor ?? null, k)).rows.map((r) => asString(r.grp));
        if (candidates.length < k && state.groupCursor != null) {
          const seen = new Set(candidates);
          for (const r of (yield s.groupsAfter(queue, null, k - candidates.length)).rows) {
            const g = asString(r.grp);
            if (!seen.has(g)) candidates.push(g);
          }
        }
        const rows: Row[] = [];
        const taken = new Map<string, number>();
        let last = state.groupCursor ?? null;
        // A group that had fewer jobs than its share leaves the rest to those that filled theirs.
        for (let active = candidates, pass = 0; pass < MAX_SHARE_PASSES && active.length && rows.length < n; pass++) {
          const full: string[] = [];
          for (const [g, share] of shareAmongGroups(active, (g) => capacity(g) - (taken.get(g) ?? 0), n - rows.length)) {
            const got: Row[] = yield* inner(share, share, g).make();
            if (!got.length) continue;
            rows.push(...got);
            taken.set(g, (taken.get(g) ?? 0) + got.length);
            last = g;
            if (got.length === share) full.push(g);
          }
          active = full;
        }
        if (groupLimits?.rateLimit) {
          for (const [g, k] of taken) yield s.saveGroupStarts(queue, g, JSON.stringify(recordGroupStarts(groupLimits, groups.get(g), now, k)), now);
        }
        if (!candidates.length) rows.push(...(yield* inner(n, n, null).make()));
        yield s.saveStarts(queue, JSON.stringify(recordStarts(state, now, rows.length)), last);
        yield s.pruneGroups(queue, now, now - (groupLimits?.rateLimit?.intervalMs ?? 0));
        return rows;
      });
    },
    set: (queue, l) => step('write', function* () {
      yield s.upsert(queue, {
        gc: l.globalConcurrency ?? null,
        rate: l.rateLimit?.limit ?? null,
        intervalMs: l.rateLimit?.intervalMs ?? null,
        groupConcurrency: l.groups?.concurrency ?? null,
        groupRate: l.groups?.rateLimit?.limit ?? null,
        groupIntervalMs: l.groups?.rateLimit?.intervalMs ?? null,
      });
    }),
    block: (queue, ms, group) => step(group === null ? 'write' : 'tx', function* () {
      if (group === null) {
        yield s.block(queue, ms);
        return;
      }
      yield s.blockGroup(queue, group, ms);
      yield s.markGroupBlock(queue, ms);
    }),
    list: () => step('read', function* () {
      const { rows } = yield s.list();
      return rows.map((r) => {
        const until = num(r.blocked_until);
        return { queue: asString(r.queue), limits: limitsOf(r), blockedUntil: until === null ? null : new Date(until) };
      });
    }),
  };
}
