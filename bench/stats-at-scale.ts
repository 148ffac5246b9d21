/**
 * stats() on a PostgreSQL job table with a million rows: the roll-up counters against the
 * grouped count over the jobs that stats() used to run. Not part of `npm test` (loading
 * takes a while):
 *
 *   npx tsc -p tsconfig.bench.json && node dist/bench/stats-at-scale.js [rows] [spreadMinutes]
 *
 * rows (default 1,000,000): 90% completed, 5% available, 3% scheduled (over the next
 * `spreadMinutes`, default 60: one pending bucket per queue and minute), 1% running, 1% dead,
 * over 10 queues; with a third argument `backlog`, 60% available and 30% completed. The state counters are filled the way migration 2 fills them for an
 * existing table. Then some real work (enqueue, claim, complete) leaves unfolded deltas.
 */
import pg from 'pg';
import { postgresMigrations } from '../lib/storage/typeorm/migrations/postgres.migrations.js';
import { TypeOrmStorage } from '../lib/storage/typeorm/typeorm.storage.js';

const PG_URL = process.env.JOBS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROWS = Number(process.argv[2] ?? 1_000_000);
const SPREAD_MIN = Number(process.argv[3] ?? 60);
/** `backlog`: 60% available, 30% completed (a queue far behind), instead of 90% completed. */
const BACKLOG = process.argv[4] === 'backlog';
const SCHEMA = `jobs_stats_bench_${process.pid}`;

async function time(label: string, runs: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  const median = ms[Math.floor(ms.length / 2)]!;
  console.log(`${label.padEnd(58)} median ${median.toFixed(2).padStart(8)} ms   p90 ${ms[Math.floor(ms.length * 0.9)]!.toFixed(2).padStart(8)} ms`);
  return median;
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  const storage = await TypeOrmStorage.fromConfig({ type: 'postgres', url: PG_URL, schema: SCHEMA, poolSize: 4, listen: false });
  try {
    await storage.init();
    const t = storage.dialect.tables;
    console.log(`Loading ${ROWS.toLocaleString('en')} jobs into ${SCHEMA} (${BACKLOG ? 'backlog: 60% available' : '90% completed'}, scheduled over ${SPREAD_MIN} min)…`);
    const t0 = Date.now();
    await admin.query(
      `INSERT INTO ${t.jobs} (queue, name, payload, state, priority, attempt, run_at, created_at, completed_at, failed_at, locked_by, locked_until)
       SELECT 'q' || (g % 10), 'job', '{}', s.state, 0, CASE WHEN s.state IN ('running', 'completed', 'dead') THEN 1 ELSE 0 END,
              CASE WHEN s.state = 'scheduled' THEN now() + ((g / 100) % $2 + 1) * interval '1 minute' ELSE now() - interval '1 hour' END,
              now() - interval '2 hours',
              CASE WHEN s.state = 'completed' THEN now() - interval '30 minutes' END,
              CASE WHEN s.state = 'dead' THEN now() - interval '30 minutes' END,
              CASE WHEN s.state = 'running' THEN 'w' END,
              CASE WHEN s.state = 'running' THEN now() + interval '1 hour' END
       FROM generate_series(1, $1::int) g
       CROSS JOIN LATERAL (SELECT CASE WHEN g % 100 < $3 THEN 'completed' WHEN g % 100 < 95 THEN 'available'
                                       WHEN g % 100 < 98 THEN 'scheduled' WHEN g % 100 < 99 THEN 'running' ELSE 'dead' END AS state) s`,
      [ROWS, SPREAD_MIN, BACKLOG ? 30 : 90],
    );
    // What migration 2 does for a table that already has jobs.
    for (const statement of postgresMigrations.find((m) => m.version === 2)!.up(t)) {
      if (!statement.startsWith('LOCK')) await admin.query(statement);
    }
    await admin.query(`VACUUM ANALYZE ${t.jobs}`);
    await admin.query(`VACUUM ANALYZE ${t.counters}`);
    console.log(`  loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const counters = await admin.query(`SELECT count(*)::int AS n FROM ${t.counters}`);
    console.log(`  counter rows: ${counters.rows[0].n}`);
    await time('stats() (counters, folded)', 30, () => storage.stats());

    // Some real work leaves deltas behind (background folds aside).
    const ids = await storage.enqueue(Array.from({ length: 2000 }, (_, i) => ({ queue: `q${i % 10}`, name: 'job', payload: '{}', priority: -1, maxAttempts: 3 })));
    for (let q = 0; q < 10; q++) {
      const claimed = await storage.claim(`q${q}`, 'bench', 200, 60_000);
      await storage.complete(claimed.map((j) => ({ id: j.id, workerId: 'bench', result: null })));
    }
    const deltas = await admin.query(`SELECT count(*)::int AS n FROM ${t.deltas}`);
    console.log(`  after ${ids.length} enqueues, 10 claims and 10 completions: ${deltas.rows[0].n} delta rows not folded yet`);
    await time('stats() (counters + unfolded deltas)', 30, () => storage.stats());
    await storage.foldCounters();

    const old = `SELECT queue, state, (run_at <= statement_timestamp()) AS due, count(*)::int AS n FROM ${t.jobs}
                 WHERE state IN ('scheduled', 'available', 'retryable', 'running', 'dead') GROUP BY queue, state, due`;
    await time('the old grouped count over the jobs (reference)', 5, () => admin.query(old));

    const plan = await admin.query(`EXPLAIN (ANALYZE, BUFFERS) ${old}`);
    console.log(`  old query: ${plan.rows.at(-1)['QUERY PLAN']}`);
  } finally {
    await storage.close();
    await admin.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await admin.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
