/**
 * A queue's `globalConcurrency`, as slots held by the instances that run it. Each instance
 * holds a number of the queue's slots in a row of its own (with a lease, renewed while it
 * runs), and starts that many handlers at most; the holds of all instances never add up to
 * more than the limit, since each is granted under the lock of the queue's limits out of what
 * the others do not hold. The jobs themselves are claimed and buffered as on a queue without
 * limits (a claim's size says nothing of how many run), so the limit costs one small write
 * now and then, not a round trip per job.
 *
 * A crash gives the slots back when the hold's lease runs out (the same lease as its jobs').
 * Instances that want more than they hold record it; while any does, the others' grants are
 * cut to a fair share (the limit shared evenly among those that want slots, none getting more
 * than it wants), and they hand back the rest as their handlers finish.
 */

/** What an instance asks of `Storage.holdSlots`. */
export interface SlotRequest {
  /** Slots it could use: its concurrency while it has work, the slots in use when it has none (0: let go of all). */
  want: number;
  /**
   * Slots it may use while the request is out (at most what it held): they stay held whatever
   * the answer, so that no handler runs outside the holds; the answer may be less, and the
   * rest is handed back by a later request, once those handlers finished.
   */
  keep: number;
  /** How long the hold lasts without being asked again. */
  leaseMs: number;
}

/** A storage's answer: the slots granted (null: the queue has no global concurrency, so no limit). */
export interface SlotGrant {
  slots: number;
  /** Another instance wants more slots than it holds: give back what is idle soon. */
  othersWaiting: boolean;
}

/** Another instance's live hold of the queue's slots. */
export interface SlotHolder {
  held: number;
  want: number;
}

/**
 * The slots granted to a request, out of `limit`, beside the other instances' live holds: what
 * it wants, of what the others do not hold, and no more than its fair share while another
 * instance holds less than its own.
 */
export function grantSlots(limit: number, request: Pick<SlotRequest, 'want'>, others: readonly SlotHolder[]): SlotGrant {
  const free = Math.max(0, limit - others.reduce((n, o) => n + o.held, 0));
  const shares = fairShares(limit, [request.want, ...others.map((o) => o.want)]);
  const othersWaiting = others.some((o, i) => o.held < shares[i + 1]!);
  const slots = Math.min(request.want, free, othersWaiting ? shares[0]! : Infinity);
  return { slots: Math.max(0, slots), othersWaiting };
}

/**
 * `limit` shared among `wants` as evenly as it goes, none getting more than it wants (water
 * filling); an odd slot goes to the earlier ones.
 */
export function fairShares(limit: number, wants: readonly number[]): number[] {
  const shares = wants.map(() => 0);
  let left = limit;
  let open = wants.map((_, i) => i).filter((i) => wants[i]! > 0);
  while (left > 0 && open.length) {
    const each = Math.max(1, Math.floor(left / open.length));
    for (const i of open) {
      if (left <= 0) break;
      const add = Math.min(each, wants[i]! - shares[i]!, left);
      shares[i]! += add;
      left -= add;
    }
    open = open.filter((i) => shares[i]! < wants[i]!);
  }
  return shares;
}

/** What the request's row holds after the grant: the grant, or the slots it kept if more. */
export function heldAfter(request: Pick<SlotRequest, 'keep'>, grant: SlotGrant): number {
  return Math.max(grant.slots, request.keep);
}

/** Checks a request from a runner (integers, keep no more than want allows). */
export function assertSlotRequest(request: SlotRequest): SlotRequest {
  const { want, keep, leaseMs } = request;
  for (const [name, v] of [['want', want], ['keep', keep], ['leaseMs', leaseMs]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`slot request: ${name} must be a non-negative integer, got ${String(v)}`);
  }
  return request;
}
