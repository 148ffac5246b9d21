import { afterEach, describe, expect, it } from 'vitest';
import type { QueueStats } from '../../lib/core/storage.js';
import { asBool, asNumber, asString } from '../../lib/storage/typeorm/job-row.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { newJob } from '../storage-contract/contract-harness.js';
import { availableKinds } from '../support/available-kinds.js';
import { freshMysqlDatabase, freshPostgresSchema, freshSqliteFile, PG_URL, sleep } from '../support/databases.js';
import type { DbKind } from '../support/typeorm-harness.js';

/**
 * The state counts of `stats()` come from counters that the writes keep (see README,
 * "Stats"), not from counting jobs. Here several storages (each its own connection pool,
 * as several processes would have) run a mixed workload on one database at once; then the
 * counters must equal a real count of the jobs table, before and after folding.
 */
async function place(kind: DbKind) {
  if (kind === 'postgres') {
    const { schema, drop } = await freshPostgresSchema();
    return { open: () => TypeOrmStorage.fromConfig({ type: 'postgres', url: PG_URL, schema, poolSize: 3, listen: false }), drop };
  }
  if (kind === 'mariadb') {
    const { url, drop } = await freshMysqlDatabase();
    return { open: () => TypeOrmStorage.fromConfig({ type: 'mariadb', url, poolSize: 3 }), drop };
  }
  const { file, remove } = freshSqliteFile();
  return { open: () => TypeOrmStorage.fromConfig({ type: 'sqlite', database: file }), drop: remove };
}

type Counts = Pick<QueueStats, 'queue' | 'available' | 'scheduled' | 'running' | 'dead'>;

/** What the old stats() did: a grouped count over the jobs table, due split on the database clock. */
async function realCounts(s: TypeOrmStorage): Promise<Counts[]> {
  const t = s.dialect.tables.jobs;
  const due = { postgres: 'run_at <= statement_timestamp()', mysql: 'run_at <= UTC_TIMESTAMP(3)', sqlite: `run_at <= CAST(ROUND(unixepoch('subsec') * 1000) AS INTEGER)` }[s.dialect.kind];
  const rows = (await s.dataSource.query(
    `SELECT queue, state, (${due}) AS due, count(*) AS n FROM ${t}
     WHERE state IN ('scheduled', 'available', 'retryable', 'running', 'dead') GROUP BY queue, state, (${due})`,
  )) as Array<Record<string, unknown>>;
  const out = new Map<string, Counts>();
  for (const r of rows) {
    const queue = asString(r.queue);
    const c = out.get(queue) ?? { queue, available: 0, scheduled: 0, running: 0, dead: 0 };
    out.set(queue, c);
    const state = asString(r.state);
    const n = asNumber(r.n);
    if (state === 'running') c.running += n;
    else if (state === 'dead') c.dead += n;
    else if (asBool(r.due)) c.available += n;
    else c.scheduled += n;
  }
  return [...out.values()].sort((a, b) => a.queue.localeCompare(b.queue));
}

const stateCounts = (stats: QueueStats[]): Counts[] =>
  stats
    .map(({ queue, available, scheduled, running, dead }) => ({ queue, available, scheduled, running, dead }))
    .filter((c) => c.available || c.scheduled || c.running || c.dead);

interface Tally {
  completed: number;
  diedByFail: number;
  prunedDead: number;
  retriedDead: number;
}

/** One worker's share of the workload: every kind of write the storage has, interleaved. */
async function workload(s: TypeOrmStorage, w: number, rounds: number, tally: Tally): Promise<void> {
  const worker = `w${w}`;
  for (let round = 0; round < rounds; round++) {
    const queue = `q${(round + w) % 2}`;
    const jobs = Array.from({ length: 12 }, (_, i) =>
      newJob({
        queue,
        maxAttempts: i % 4 === 0 ? 1 : 3,
        // Due now, later this minute or the next, minutes ahead: every bucket kind.
        delayMs: [0, 0, 0, 40, 15_000, 75_000, 600_000][i % 7],
        uniqueKey: i % 5 === 0 ? `u${round % 3}` : null,
      }),
    );
    await s.enqueue(jobs);
    const shortLease = round % 3 === 0;
    const claimed = await s.claim(queue, worker, 8, shortLease ? 60 : 30_000);
    const [done, failing, back, left] = [claimed.slice(0, 3), claimed.slice(3, 5), claimed.slice(5, 6), claimed.slice(6)];
    const completed = await s.complete(done.map((j) => ({ id: j.id, workerId: worker, result: '1' })));
    tally.completed += completed.length;
    const failed = await s.fail(
      failing.map((j, k) => ({ id: j.id, workerId: worker, error: { name: 'E', message: 'x', attempt: j.attempt, at: '' }, retryDelayMs: k === 0 ? null : 30 })),
    );
    tally.diedByFail += failed.filter((id) => failing[0]?.id === id).length;
    await s.release(back.map((j) => j.id), worker, round % 2 ? new Date(Date.now() + 90_000) : undefined);
    // Cancel a waiting job and a running one (its release then ends it cancelled).
    const waiting = (await s.list({ queue, state: 'scheduled', limit: 1 })).jobs[0];
    if (waiting) await s.cancel(waiting.id);
    if (left[0]) {
      await s.cancel(left[0].id);
      await s.release([left[0].id], worker);
    }
    // The rest are left to expire (short leases) and be rescued by anyone.
    await s.rescue();
    for (const dead of (await s.list({ queue, state: 'dead', limit: 3 })).jobs) {
      if (Number(dead.id) % 3 !== w) continue;
      // A concurrent enqueue may take the job's unique key between retry's check and its
      // update: retry() then fails on the unique index (documented), and changes nothing.
      const back = await s.retry(dead.id).catch(() => null);
      if (back?.state === 'available') tally.retriedDead++;
    }
    if (round % 4 === 3 && round < rounds - 1) {
      const pruned = await s.prune({ olderThan: new Date(Date.now() + 1000), states: ['dead'] });
      tally.prunedDead += pruned;
    }
    if (round % 5 === 4) await s.prune({ olderThan: new Date(Date.now() + 1000), states: ['completed', 'cancelled'] });
  }
}

for (const kind of await availableKinds()) {
  describe(`roll-up counters under concurrent writers: ${kind}`, () => {
    let storages: TypeOrmStorage[] = [];
    let drop: () => Promise<void> = async () => undefined;
    afterEach(async () => {
      await Promise.all(storages.map((s) => s.close()));
      storages = [];
      await drop();
    });

    it('match a real count of the jobs after a mixed workload on three connection pools, folded or not', async () => {
      const p = await place(kind);
      drop = p.drop;
      storages = await Promise.all([0, 1, 2].map(() => p.open()));
      for (const s of storages) await s.init();
      const tally: Tally = { completed: 0, diedByFail: 0, prunedDead: 0, retriedDead: 0 };
      await Promise.all(storages.map((s, w) => workload(s, w, 12, tally)));
      await sleep(80); // the short leases expire
      await storages[0]!.rescue();

      const [s0, s1] = storages as [TypeOrmStorage, TypeOrmStorage];
      // At least one dead job left, whatever the interleaving pruned and retried.
      await s0.enqueue([newJob({ queue: 'qd' })]);
      const [last] = await s0.claim('qd', 'w0', 1, 30_000);
      expect(await s0.fail([{ id: last!.id, workerId: 'w0', error: { name: 'E', message: 'x', attempt: 1, at: '' }, retryDelayMs: null }])).toHaveLength(1);
      tally.diedByFail++;
      const real = await realCounts(s0);
      // Every count is in play.
      for (const key of ['available', 'scheduled', 'dead'] as const) expect(real.reduce((n, c) => n + c[key], 0)).toBeGreaterThan(0);
      expect(stateCounts(await s1.stats())).toEqual(real);
      // Unfolded deltas: written after the last fold and read as they are.
      await s0.enqueue([newJob({ queue: 'q0' }), newJob({ queue: 'q9', delayMs: 3_600_000 })]);
      expect(stateCounts(await s1.stats())).toEqual(await realCounts(s0));
      await Promise.all(storages.map((s) => s.foldCounters()));
      const stats = await s1.stats();
      expect(stateCounts(stats)).toEqual(await realCounts(s0));
      const completed = stats.reduce((n, q) => n + q.completed.allTime, 0);
      const died = stats.reduce((n, q) => n + q.died.allTime, 0);
      const deadNow = stats.reduce((n, q) => n + q.dead, 0);
      expect(completed).toBe(tally.completed);
      expect(died).toBe(deadNow + tally.prunedDead + tally.retriedDead);
      expect(died).toBeGreaterThanOrEqual(tally.diedByFail);
      if (kind !== 'sqlite') {
        const left = (await s0.dataSource.query(`SELECT count(*) AS n FROM ${s0.dialect.tables.deltas}`)) as Array<{ n: unknown }>;
        expect(asNumber(left[0]!.n)).toBe(0);
      }
    });

    it('recount() repairs counters skewed by hand, alone and while other pools keep writing', async () => {
      const p = await place(kind);
      drop = p.drop;
      storages = await Promise.all([0, 1, 2].map(() => p.open()));
      for (const s of storages) await s.init();
      const [s0, s1, s2] = storages as [TypeOrmStorage, TypeOrmStorage, TypeOrmStorage];
      const tally: Tally = { completed: 0, diedByFail: 0, prunedDead: 0, retriedDead: 0 };
      await Promise.all([workload(s1, 1, 4, tally), workload(s2, 2, 4, tally)]);
      await s0.enqueue([newJob({ queue: 'q0', delayMs: 600_000 }), newJob({ queue: 'q0', delayMs: 3_600_000 })]);
      await sleep(80); // jobs due within a few ms are due before the counts are compared

      // What an old-version writer or a hand edit leaves behind: every kind of count off.
      const t = s0.dialect.tables;
      const skew = async (ghost: string) => {
        await s0.dataSource.query(`UPDATE ${t.counters} SET n = n + 7 WHERE grain = 's' AND event = 'running'`);
        await s0.dataSource.query(`DELETE FROM ${t.counters} WHERE grain = 's' AND event = 'dead'`);
        await s0.dataSource.query(`UPDATE ${t.counters} SET n = n - 1 WHERE grain = 's' AND event = 'pending' AND bucket > 0`);
        await s0.dataSource.query(`INSERT INTO ${t.counters} (grain, bucket, queue, event, n) VALUES ('s', 0, '${ghost}', 'pending', 5)`);
        if (kind !== 'sqlite') await s0.dataSource.query(`INSERT INTO ${t.deltas} (queue, event, bucket, n) VALUES ('q0', 'pending', 0, -3)`);
      };
      await skew('ghost1');
      expect(stateCounts(await s1.stats())).not.toEqual(await realCounts(s0));

      // Three at once on a warm pool (so they do overlap): the correction is added once.
      if (kind !== 'sqlite') {
        const pause = kind === 'postgres' ? 'SELECT pg_sleep(0.05)' : 'SELECT SLEEP(0.05)';
        await Promise.all([1, 2, 3].map(() => s0.dataSource.query(pause)));
      }
      const corrected = await Promise.all([s0.recount(), s0.recount(), s0.recount()]);
      expect(corrected.filter((n) => n > 0)).toHaveLength(1);
      expect(Math.max(...corrected)).toBeGreaterThanOrEqual(4);
      expect(stateCounts(await s1.stats())).toEqual(await realCounts(s0));
      expect(await s1.recount()).toBe(0);

      // Skewed again, then recounted (twice at once, too) while two other pools write.
      await skew('ghost2');
      await Promise.all([
        workload(s1, 1, 6, tally),
        workload(s2, 2, 6, tally),
        (async () => {
          for (let i = 0; i < 3; i++) await Promise.all([s0.recount(), s0.recount()]);
        })(),
      ]);
      await sleep(80); // short leases of the workload expire
      await s0.rescue();
      expect(stateCounts(await s1.stats())).toEqual(await realCounts(s0));
      await Promise.all(storages.map((s) => s.foldCounters()));
      expect(stateCounts(await s1.stats())).toEqual(await realCounts(s0));
      expect(await s0.recount()).toBe(0);
    });

    it('the waiting count of flow parents survives folds, and a recount finds it right', async () => {
      const p = await place(kind);
      drop = p.drop;
      const s = await p.open();
      storages.push(s);
      await s.init();
      const leaf = (name: string) => ({ job: newJob({ name }), onChildFailure: 'fail' as const, children: [] });
      await s.enqueueFlow({ job: newJob({ name: 'root' }), onChildFailure: 'fail', children: [{ job: newJob({ name: 'mid' }), onChildFailure: 'fail', children: [leaf('a')] }, leaf('b')] });
      const waiting = async () => (await s.stats()).find((q) => q.queue === 'q')?.waiting;
      expect(await waiting()).toBe(2);
      await s.foldCounters();
      expect(await waiting()).toBe(2);
      const claimed = await s.claim('q', 'w', 10, 30_000);
      expect(claimed.map((j) => j.name).sort()).toEqual(['a', 'b']);
      await s.complete(claimed.map((j) => ({ id: j.id, workerId: 'w' })));
      expect(await waiting()).toBe(1); // mid left waiting; root waits
      await s.foldCounters();
      expect(await waiting()).toBe(1);
      expect(await s.recount()).toBe(0);
    });

    it('migration 2 counts the jobs a version-1 database already has', async () => {
      const p = await place(kind);
      drop = p.drop;
      const old = await p.open();
      storages.push(old);
      await old.init();
      await old.enqueue([newJob(), newJob(), newJob({ delayMs: 600_000 }), newJob({ queue: 'q2', delayMs: 20_000 }), newJob({ maxAttempts: 1 })]);
      const claimed = await old.claim('q', 'w', 2, 30_000);
      await old.fail([{ id: claimed[0]!.id, workerId: 'w', error: { name: 'E', message: 'x', attempt: 1, at: '' }, retryDelayMs: null }]);
      // Back to version 1: no state counters, no delta table, migration 2 not recorded.
      const t = old.dialect.tables;
      if (kind !== 'sqlite') await old.dataSource.query(`DROP TABLE ${t.deltas}`);
      await old.dataSource.query(`DELETE FROM ${t.counters} WHERE grain = 's'`);
      await old.dataSource.query(`DELETE FROM ${t.migrations} WHERE version = 2`);
      const upgraded = await p.open();
      storages.push(upgraded);
      await upgraded.init();
      expect(stateCounts(await upgraded.stats())).toEqual(await realCounts(upgraded));
      expect((await upgraded.stats()).find((q) => q.queue === 'q')).toMatchObject({ available: 1, scheduled: 1, running: 1, dead: 1 });
    });
  });
}
