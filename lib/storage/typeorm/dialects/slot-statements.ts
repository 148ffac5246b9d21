import type { DialectKind, TableNames } from '../table-names.js';
import { sql, type Sql } from '../flow.js';

/**
 * The statements of slot holds (`queue_slot`, see `core/slots.ts`), per database; they run in
 * `limit-flows.ts`'s `holdSlots`, under the lock of the queue's `queue_limit` row. Times are
 * epoch ms on the database's clock (the lock's `now`).
 */
export interface SlotSql {
  /** `held, wants` of the other workers' live holds of the queue. */
  others(queue: string, workerId: string, now: number): Sql;
  /** Deletes the queue's holds whose lease ran out. */
  expire(queue: string, now: number): Sql;
  save(queue: string, workerId: string, held: number, wants: number, expiresAt: number): Sql;
  remove(queue: string, workerId: string): Sql;
  /** Deletes every hold of the queue (its global concurrency was removed). */
  clear(queue: string): Sql;
}

export function slotStatements(kind: DialectKind, t: TableNames): SlotSql {
  const p = kind === 'postgres' ? (i: number) => `$${i}` : () => '?';
  const upsert = kind === 'mysql'
    ? `ON DUPLICATE KEY UPDATE held = VALUES(held), wants = VALUES(wants), expires_at = VALUES(expires_at)`
    : `ON CONFLICT (queue, worker_id) DO UPDATE SET held = excluded.held, wants = excluded.wants, expires_at = excluded.expires_at`;
  return {
    others: (q, w, now) => sql(`SELECT held, wants FROM ${t.slots} WHERE queue = ${p(1)} AND worker_id <> ${p(2)} AND expires_at > ${p(3)}`, [q, w, now]),
    expire: (q, now) => sql(`DELETE FROM ${t.slots} WHERE queue = ${p(1)} AND expires_at <= ${p(2)}`, [q, now]),
    save: (q, w, held, wants, at) => sql(
      `INSERT INTO ${t.slots} (queue, worker_id, held, wants, expires_at) VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}) ${upsert}`,
      [q, w, held, wants, at],
    ),
    remove: (q, w) => sql(`DELETE FROM ${t.slots} WHERE queue = ${p(1)} AND worker_id = ${p(2)}`, [q, w]),
    clear: (q) => sql(`DELETE FROM ${t.slots} WHERE queue = ${p(1)}`, [q]),
  };
}
