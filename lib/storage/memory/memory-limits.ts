import type { JobRecord } from '../../core/job-record.js';
import {
  afterCursor,
  allowance,
  claimsByGroup,
  groupCapacity,
  limitedClaim,
  recordGroupStarts,
  recordStarts,
  shareAmongGroups,
  type GroupState,
  type LimitState,
  type QueueLimits,
  type StoredQueueLimits,
} from '../../core/limits.js';
import { grantSlots, heldAfter, type SlotGrant, type SlotHolder, type SlotRequest } from '../../core/slots.js';

/** Claims `n` due jobs, the first `startNow` starting at once; `group`: only of that group. */
export type Take = (n: number, startNow: number, group?: string | null) => JobRecord[];

const PENDING = new Set(['scheduled', 'available', 'retryable']);

/**
 * Queue limits in memory: the same rules (`core/limits.ts`) and the same grouped claim as the
 * database storages' (`typeorm/dialects/limit-flows.ts`).
 */
export class MemoryLimits {
  private readonly states = new Map<string, LimitState>();
  private readonly groups = new Map<string, Map<string, GroupState>>();
  /** Slot holds per queue and worker. */
  private readonly holds = new Map<string, Map<string, SlotHolder & { expiresAt: number }>>();

  set(queue: string, limits: QueueLimits): void {
    if (limits.globalConcurrency === undefined) this.holds.delete(queue);
    const state = this.states.get(queue);
    if (state) state.limits = structuredClone(limits);
    else this.states.set(queue, { limits: structuredClone(limits), blockedUntil: null, starts: [] });
  }

  block(queue: string, until: number, group: string | null): void {
    const state = this.states.get(queue) ?? { limits: {}, blockedUntil: null, starts: [] };
    this.states.set(queue, state);
    if (group === null) {
      state.blockedUntil = Math.max(state.blockedUntil ?? 0, until);
      return;
    }
    state.groupBlockedUntil = Math.max(state.groupBlockedUntil ?? 0, until);
    const g = this.groupOf(queue, group);
    g.blockedUntil = Math.max(g.blockedUntil ?? 0, until);
  }

  has(queue: string): boolean {
    return this.states.has(queue);
  }

  list(): StoredQueueLimits[] {
    return [...this.states].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([queue, s]) => ({
      queue,
      limits: structuredClone(s.limits),
      blockedUntil: s.blockedUntil === null ? null : new Date(s.blockedUntil),
    }));
  }

  /** Claims under `queue`'s limits (as `take` would without any). */
  claim(queue: string, jobs: Iterable<JobRecord>, now: number, limit: number, startNow: number, take: Take): JobRecord[] {
    const state = this.states.get(queue);
    if (!state) return take(limit, startNow);
    const all = [...jobs].filter((j) => j.queue === queue);
    if (!claimsByGroup(state, now)) {
      const size = limitedClaim(state, now, limit, startNow);
      const rows = size.limit > 0 ? take(size.limit, size.startNow) : [];
      state.starts = recordStarts(state, now, rows.length);
      return rows;
    }
    // Under a rate limit only jobs that start at once; else a buffer too (see `limit-flows.ts`).
    const groupLimits = state.limits.groups;
    const buffers = !state.limits.rateLimit && !groupLimits?.rateLimit;
    const n = allowance(state, now, buffers ? limit : Math.min(limit, startNow));
    if (n <= 0) return [];
    let first = Math.min(n, startNow);
    const byGroup = new Map<string, number>();
    for (const j of all) if (j.state === 'running' && j.group !== null) byGroup.set(j.group, (byGroup.get(j.group) ?? 0) + 1);
    const stateOf = (g: string): GroupState => ({ ...this.groupOf(queue, g), running: byGroup.get(g) ?? 0 });
    const waiting = [...new Set(all.filter((j) => PENDING.has(j.state) && j.group !== null).map((j) => j.group!))].sort();
    const candidates = afterCursor(waiting, state.groupCursor);
    const rows: JobRecord[] = [];
    const taken = new Map<string, number>();
    for (let active = candidates, pass = 0; pass < 3 && active.length && rows.length < n; pass++) {
      const full: string[] = [];
      for (const [g, share] of shareAmongGroups(active, (g) => groupCapacity(groupLimits, stateOf(g), now) - (taken.get(g) ?? 0), n - rows.length)) {
        const got = take(share, Math.min(share, first), g);
        first -= Math.min(got.length, share, first);
        if (!got.length) continue;
        rows.push(...got);
        taken.set(g, (taken.get(g) ?? 0) + got.length);
        state.groupCursor = g;
        if (got.length === share) full.push(g);
      }
      active = full;
    }
    for (const [g, k] of taken) this.groupOf(queue, g).starts = recordGroupStarts(groupLimits, this.groupOf(queue, g), now, k);
    if (!candidates.length) rows.push(...take(n, first, null));
    state.starts = recordStarts(state, now, rows.length);
    return rows;
  }

  /** `workerId`'s hold on the queue's slots (see `core/slots.ts`); null without a global concurrency. */
  holdSlots(queue: string, workerId: string, request: SlotRequest, now: number): SlotGrant | null {
    let holds = this.holds.get(queue);
    const limit = this.states.get(queue)?.limits.globalConcurrency;
    if (limit === undefined) {
      holds?.delete(workerId);
      return null;
    }
    if (!holds) this.holds.set(queue, (holds = new Map()));
    for (const [w, h] of holds) if (h.expiresAt <= now) holds.delete(w);
    const grant = grantSlots(limit, request, [...holds].filter(([w]) => w !== workerId).map(([, h]) => h));
    const held = heldAfter(request, grant);
    if (held === 0 && request.want === 0) holds.delete(workerId);
    else holds.set(workerId, { held, want: request.want, expiresAt: now + request.leaseMs });
    return grant;
  }

  private groupOf(queue: string, group: string): GroupState {
    let groups = this.groups.get(queue);
    if (!groups) this.groups.set(queue, (groups = new Map()));
    let g = groups.get(group);
    if (!g) groups.set(group, (g = { running: 0, blockedUntil: null, starts: [] }));
    return g;
  }
}
