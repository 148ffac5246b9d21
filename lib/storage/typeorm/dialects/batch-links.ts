import { callbackJob, dueCallbacks, type BatchCounts, type NewBatch } from '../../../core/job-record.js';
import type { Dialect } from '../dialect.js';
import { toInsertRow } from '../enqueue-plan.js';
import { step, type Flow, type Row, type Step } from '../flow.js';
import { asNumber, asString } from '../job-row.js';
import { MAX_IDS, type LinkSql } from './link-sql.js';

/**
 * Batches on the SQL storages: a `<prefix>batch` row per batch with its counts, kept by
 * `countInto`, which `flow-links.ts`'s `settle` runs in every finishing transition's
 * transaction for the finished batch jobs it counts (each once, see there). A callback is
 * stored in that same transaction, only by the transaction whose guarded UPDATE flips its
 * `<which>_fired` flag from 0 to 1: the batch row is locked by the counts' UPDATE, so of
 * many instances finishing jobs of one batch at once exactly one stores each callback.
 */
export function batchLinks(dialect: Dialect, x: LinkSql) {
  const { kind } = dialect;
  const { t, now, q, id, ids, marks, sortIds } = x;

  /**
   * Adds finished jobs to their batches' counts (each batch row locked by its UPDATE, in id
   * order) and stores each callback the new counts make due, behind its guarded flag.
   */
  function* countInto(rows: Row[], woken: string[]): Flow<void> {
    const byBatch = new Map<string, Row[]>();
    for (const r of rows) {
      const bid = String(r.batch_id);
      const list = byBatch.get(bid) ?? [];
      list.push(r);
      byBatch.set(bid, list);
    }
    for (const bid of [...byBatch.keys()].sort(sortIds)) {
      const list = byBatch.get(bid)!;
      const n = (state: string) => list.filter((r) => r.state === state).length;
      yield q(`UPDATE ${t.batches} SET completed = completed + ?, dead = dead + ?, cancelled = cancelled + ? WHERE id = ?`, [n('completed'), n('dead'), n('cancelled'), id(bid)]);
      const batch = (yield q(`SELECT total, completed, dead, cancelled, payload, callbacks, complete_fired, success_fired, failure_fired FROM ${t.batches} WHERE id = ?`, [id(bid)])).rows[0];
      if (!batch) continue;
      const counts: BatchCounts = { total: asNumber(batch.total), completed: asNumber(batch.completed), dead: asNumber(batch.dead), cancelled: asNumber(batch.cancelled) };
      const templates = JSON.parse(asString(batch.callbacks)) as NewBatch['callbacks'];
      const due = dueCallbacks(counts);
      for (const which of ['failure', 'success', 'complete'] as const) {
        const template = templates[which];
        if (!template || !due[which] || asNumber(batch[`${which}_fired`]) !== 0) continue;
        const { affected } = yield q(`UPDATE ${t.batches} SET ${which}_fired = 1 WHERE id = ? AND ${which}_fired = 0`, [id(bid)]);
        if (!affected) continue;
        yield* dialect.insert([toInsertRow(callbackJob(template, bid, asString(batch.payload), counts))]).make();
        woken.push(template.queue);
      }
    }
  }

  return {
    countInto,

    /** Stores a batch's row; returns its id. */
    create(total: number, batch: NewBatch): Step<string> {
      return step('tx', function* () {
        const callbacks = JSON.stringify(batch.callbacks);
        const created = kind === 'postgres' ? 'now()' : now;
        const insert = `INSERT INTO ${t.batches} (total, payload, callbacks, created_at) VALUES (?, ?, ?, ${created})`;
        if (kind === 'mysql') {
          yield q(insert, [total, batch.payload, callbacks]);
          return String((yield q(`SELECT LAST_INSERT_ID() AS id`)).rows[0]!.id);
        }
        return String((yield q(`${insert} RETURNING id`, [total, batch.payload, callbacks])).rows[0]!.id);
      });
    },

    /** Makes just-inserted jobs members of batch `batchId` (not counted yet). */
    join(batchId: string, jobIds: string[]): Step<void> {
      return step('tx', function* () {
        for (let i = 0; i < jobIds.length; i += MAX_IDS) {
          const chunk = jobIds.slice(i, i + MAX_IDS);
          yield q(`UPDATE ${t.jobs} SET batch_id = ?, child_status = 0 WHERE id IN (${marks(chunk.length)})`, [id(batchId), ...ids(chunk)]);
        }
      });
    },

    /** The batch's row and its stored jobs by state. */
    get(batchId: string): Step<{ batch: Row | null; states: Row[] }> {
      return step('read', function* () {
        const batch = (yield q(`SELECT id, total, completed, dead, cancelled, payload, complete_fired, success_fired, failure_fired FROM ${t.batches} WHERE id = ?`, [id(batchId)])).rows[0] ?? null;
        if (!batch) return { batch, states: [] };
        const states = (yield q(`SELECT state, count(*) AS n FROM ${t.jobs} WHERE batch_id = ? GROUP BY state`, [id(batchId)])).rows;
        return { batch, states };
      });
    },

  };
}
