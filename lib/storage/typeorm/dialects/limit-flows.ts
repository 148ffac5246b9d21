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
import { grantSlots, heldAfter, type SlotGrant, type SlotRequest } from '../../../core/slots.js';
import { limitStatements } from './limit-statements.js';
import { slotStatements } from './slot-statements.js';

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
 * queue run one at a time across the cluster; claims at most what the block and the rate
 * limits allow; and stores the rate limit's start log. Other queues are untouched. A global
 * concurrency is kept by slot holds (`holdSlots`, `core/slots.ts`), granted under the same
 * lock: the claim itself buffers jobs as on a queue without limits.
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
  /**
   * `workerId`'s hold on the queue's slots (see `core/slots.ts`): null, and no row kept, when
   * the queue has no global concurrency.
   */
  holdSlots(queue: string, workerId: string, request: SlotRequest): Step<SlotGrant | null>;
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
  const slots = slotStatements(dialect.kind, dialect.tables);
  return {
    claim: (queue, workerId, limit, leaseMs, startNow) => {
      const inner = (n: number, first: number, group?: string | null) => dialect.claim(queue, workerId, n, leaseMs, first, group);
      const mode = inner(limit, startNow).mode;
      return step(mode === 'write' ? 'tx' : mode, function* () {
        const row = (yield s.lockRow(queue)).rows[0];
        if (!row) return yield* inner(limit, startNow).make();
        // A rate limit's start log is dated with the clock after the lock's wait, not before it.
        const dated = dialect.kind === 'mysql' && (row.rate_limit != null || row.group_rate_limit != null);
        const now = asNumber(dated ? (yield s.clock()).rows[0]!.now : row.now);
        const state: LimitState = {
          limits: limitsOf(row),
          blockedUntil: num(row.blocked_until),
          starts: parseStartLog(row.starts),
          groupBlockedUntil: num(row.group_blocked_until),
          groupCursor: row.group_cursor == null ? null : asString(row.group_cursor),
        };
        if (!claimsByGroup(state, now)) {
          const size = limitedClaim(state, now, limit, startNow);
          const rows = size.limit > 0 ? yield* inner(size.limit, size.startNow).make() : [];
          if (state.limits.rateLimit) yield s.saveStarts(queue, JSON.stringify(recordStarts(state, now, rows.length)), state.groupCursor ?? null);
          return rows;
        }
        // Grouped. Under a rate limit (the queue's or the groups'), only jobs that start at once
        // (their starts count now); else a buffer too, its jobs counted against their groups'
        // concurrency like running ones (they are claimed rows).
        const groupLimits = state.limits.groups;
        const buffers = !state.limits.rateLimit && !groupLimits?.rateLimit;
        const n = allowance(state, now, buffers ? limit : Math.min(limit, startNow));
        if (n <= 0) return [];
        let first = Math.min(n, startNow);
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
            const got: Row[] = yield* inner(share, Math.min(share, first), g).make();
            first -= Math.min(got.length, share, first);
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
        if (!candidates.length) rows.push(...(yield* inner(n, first, null).make()));
        yield s.saveStarts(queue, JSON.stringify(recordStarts(state, now, rows.length)), last);
        yield s.pruneGroups(queue, now, now - (groupLimits?.rateLimit?.intervalMs ?? 0));
        return rows;
      });
    },
    holdSlots: (queue, workerId, request) => step('tx', function* () {
      const row = (yield s.lockRow(queue)).rows[0];
      const limit = row ? num(row.global_concurrency) : null;
      if (!row || limit === null) {
        yield slots.remove(queue, workerId);
        return null;
      }
      const now = asNumber(row.now);
      yield slots.expire(queue, now);
      const others = (yield slots.others(queue, workerId, now)).rows.map((r) => ({ held: asNumber(r.held), want: asNumber(r.wants) }));
      const grant = grantSlots(limit, request, others);
      const held = heldAfter(request, grant);
      if (held === 0 && request.want === 0) yield slots.remove(queue, workerId);
      else yield slots.save(queue, workerId, held, request.want, now + request.leaseMs);
      return grant;
    }),
    set: (queue, l) => step(l.globalConcurrency === undefined ? 'tx' : 'write', function* () {
      // Without a global concurrency, holds count for nothing: none is left to count if one is set again.
      if (l.globalConcurrency === undefined) yield slots.clear(queue);
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
