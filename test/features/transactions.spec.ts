import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { DataSource, EntityManager } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Job, JobsModule, MaxRetries, Processor, QueueService, type JobContext } from '../../lib/index.js';
import { availableKinds } from '../support/available-kinds.js';
import { FAST, openTarget, type FeatureTarget } from '../support/feature-targets.js';

class Rollback extends Error {}

/** SQL inserting one note (bind parameter: its body), set per database. */
let insertNote = '';

@Processor({ queue: 'tx', maxRetries: MaxRetries.count(0) })
class NoteProcessor {
  /** Writes a note through ctx.manager: the note and the job's completion commit together. */
  @Job('note', { transaction: true })
  async note(payload: { body: string; fail?: boolean }, ctx: JobContext) {
    await (ctx.manager as EntityManager).query(insertNote, [payload.body]);
    if (payload.fail) throw new Error('failed after writing');
    return { wrote: payload.body };
  }

  @Job('plain')
  plain(payload: { n: number }) {
    return payload.n + 1;
  }
}

for (const kind of await availableKinds()) {
  describe(`transactions through the module with storage: { dataSource }: ${kind}`, () => {
    let target: FeatureTarget;
    let ds: DataSource;
    let app: INestApplication;
    let queue: QueueService;
    let noteTable = '';
    const notes = async () => ((await ds.query(`SELECT body FROM ${noteTable} ORDER BY body`)) as Array<{ body: string }>).map((r) => r.body);

    beforeEach(async () => {
      target = await openTarget(kind);
      ds = await target.dataSource();
      const schema = kind === 'postgres' ? (ds.options as { schema: string }).schema : null;
      if (schema) await ds.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      noteTable = schema ? `"${schema}".note` : 'note';
      const id = kind === 'postgres' ? 'serial' : kind === 'mariadb' ? 'INT AUTO_INCREMENT' : 'INTEGER';
      await ds.query(`CREATE TABLE ${noteTable} (id ${id} PRIMARY KEY, body TEXT NOT NULL)`);
      insertNote = `INSERT INTO ${noteTable} (body) VALUES (${kind === 'postgres' ? '$1' : '?'})`;
      const mod = await Test.createTestingModule({
        imports: [JobsModule.forRoot({ storage: { dataSource: ds }, ...FAST })],
        providers: [NoteProcessor],
      }).compile();
      app = mod.createNestApplication({ logger: false });
      await app.init();
      queue = app.get(QueueService);
    });
    afterEach(async () => {
      await app.close();
      await target.cleanup();
    });

    it("@Job({ transaction: true }): the handler's writes and the completion commit together", async () => {
      const { id } = await queue.enqueue('note', { body: 'kept' });
      await expect(queue.waitFor(id, { timeoutMs: 5_000 })).resolves.toEqual({ wrote: 'kept' });
      expect(await notes()).toEqual(['kept']);
      expect(await queue.getJob(id)).toMatchObject({ state: 'completed', result: { wrote: 'kept' } });
    });

    it("@Job({ transaction: true }): a handler that throws after writing leaves no write behind", async () => {
      const { id } = await queue.enqueue('note', { body: 'lost', fail: true });
      await expect(queue.waitFor(id, { timeoutMs: 5_000 })).rejects.toThrow(/failed after writing/);
      expect(await notes()).toEqual([]);
      expect(await queue.getJob(id)).toMatchObject({ state: 'dead', result: null });
    });

    it("enqueue(…, { manager }) joins the caller's transaction: rolled back, no job; committed, processed", async () => {
      let rolledBackId = '';
      await expect(
        ds.transaction(async (manager) => {
          await manager.query(insertNote, ['rolled back']);
          rolledBackId = (await queue.enqueue('plain', { n: 1 }, { manager })).id;
          throw new Rollback();
        }),
      ).rejects.toBeInstanceOf(Rollback);
      expect(rolledBackId).not.toBe('');
      expect(await queue.getJob(rolledBackId)).toBeNull();

      const [one, many] = await ds.transaction(async (manager) => {
        await manager.query(insertNote, ['committed']);
        const single = await queue.enqueue('plain', { n: 41 }, { manager });
        const bulk = await queue.enqueueMany([{ name: 'plain', payload: { n: 1 } }, { name: 'note', payload: { body: 'from a job' } }], { manager });
        return [single, bulk] as const;
      });
      await expect(queue.waitFor(one.id, { timeoutMs: 5_000 })).resolves.toBe(42);
      await expect(queue.waitFor(many[0]!.id, { timeoutMs: 5_000 })).resolves.toBe(2);
      await queue.waitFor(many[1]!.id, { timeoutMs: 5_000 });
      expect(await notes()).toEqual(['committed', 'from a job']);
      expect((await queue.list({ queue: 'tx' })).jobs).toHaveLength(3);
    });
  });
}
