import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { PG, SCHEMAS, TMP_DIR } from '../config.js';
import { recreatePgSchema, withPg } from '../db.js';
import { processCpuMs } from './common.js';
import type { Params, Result } from './workloads.js';

/**
 * The database's own limits, with no framework: what one awaited INSERT costs, and how fast a
 * bare batched claim/complete loop drains a queue. The table is shaped like a jobs table
 * (a partial index for the claim order), so the numbers bound what a job queue can reach.
 */
const schema = SCHEMAS.ceiling;

const CREATE_JOBS = `
  CREATE TABLE "${schema}".jobs (
    id bigserial PRIMARY KEY,
    queue text NOT NULL,
    name text NOT NULL,
    payload jsonb NOT NULL,
    state text NOT NULL DEFAULT 'available',
    priority int NOT NULL DEFAULT 0,
    attempt int NOT NULL DEFAULT 0,
    max_attempts int,
    run_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    locked_by text,
    locked_until timestamptz,
    completed_at timestamptz
  );
  CREATE INDEX jobs_claim ON "${schema}".jobs (queue, priority, run_at, id) WHERE state = 'available';`;

async function client(): Promise<pg.Client> {
  const c = new pg.Client({ ...PG, application_name: 'bench-ceiling' });
  await c.connect();
  await c.query(`SET search_path TO "${schema}"`);
  return c;
}

/** A single connection, one awaited INSERT per job (a named prepared statement). */
export async function bareInsert(p: Params): Promise<Result> {
  const n = p.jobs!;
  await recreatePgSchema(schema);
  await withPg((c) => c.query(CREATE_JOBS));
  const c = await client();
  try {
    const insert = (i: number) =>
      c.query({
        name: 'ins',
        text: 'INSERT INTO jobs (queue, name, payload, max_attempts) VALUES ($1, $2, $3, 6) RETURNING id',
        values: ['bench', 'noop', JSON.stringify({ i })],
      });
    for (let i = 0; i < 100; i++) await insert(-1 - i);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await insert(i);
    const ms = performance.now() - t0;
    return { jobs: n, ms, perSec: (n / ms) * 1000 };
  } finally {
    await c.end();
  }
}

/**
 * Claims 500 at a time (CTE + FOR UPDATE SKIP LOCKED) on one connection and completes each
 * batch in one UPDATE on a second, the completion overlapping the next claim.
 */
export async function bareClaim(p: Params): Promise<Result> {
  const n = p.jobs!;
  const batch = 500;
  await recreatePgSchema(schema);
  await withPg(async (c) => {
    await c.query(CREATE_JOBS);
    await c.query(
      `INSERT INTO "${schema}".jobs (queue, name, payload, max_attempts)
       SELECT 'bench', 'noop', jsonb_build_object('i', g), 6 FROM generate_series(1, $1::int) g`,
      [n],
    );
    await c.query(`ANALYZE "${schema}".jobs`);
    await c.query('CHECKPOINT');
  });
  const claimer = await client();
  const completer = await client();
  const noop = async (_payload: unknown) => undefined;
  try {
    let handled = 0;
    let pending: Promise<unknown> = Promise.resolve();
    const pg0 = processCpuMs('postgres');
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let round = 0; round < Math.ceil(n / batch) + 10 && handled < n; round++) {
      const { rows } = await claimer.query<{ id: string; payload: unknown }>({
        name: 'claim',
        text: `WITH due AS (
                 SELECT id FROM jobs
                 WHERE queue = $1 AND state = 'available' AND run_at <= now()
                 ORDER BY priority, run_at, id
                 LIMIT $2
                 FOR UPDATE SKIP LOCKED
               )
               UPDATE jobs j SET state = 'running', attempt = j.attempt + 1, locked_by = $3,
                      locked_until = now() + interval '30 seconds'
               FROM due WHERE j.id = due.id
               RETURNING j.id, j.payload`,
        values: ['bench', batch, 'w1'],
      });
      if (!rows.length) break;
      await Promise.all(rows.map((r) => noop(r.payload)));
      handled += rows.length;
      await pending;
      pending = completer.query({
        name: 'complete',
        text: `UPDATE jobs SET state = 'completed', completed_at = now(), locked_by = NULL, locked_until = NULL
               WHERE id = ANY($1::bigint[]) AND locked_by = $2 AND state = 'running'`,
        values: [rows.map((r) => r.id), 'w1'],
      });
    }
    await pending;
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const pg1 = processCpuMs('postgres');
    return {
      jobs: handled,
      ms,
      perSec: (handled / ms) * 1000,
      workerCpuMsPer1k: ((cpu.user + cpu.system) / 1000 / handled) * 1000,
      pgCpuMsPer1k: pg0 !== null && pg1 !== null ? ((pg1 - pg0) / handled) * 1000 : -1,
    };
  } finally {
    await claimer.end();
    await completer.end();
  }
}

function runPgbench(script: string, seconds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const args = ['-h', PG.host, '-p', String(PG.port), '-U', PG.user, '-n', '-T', String(seconds), '-c', '10', '-j', '2', '-f', script, PG.database];
    const child = spawn('pgbench', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const m = /tps = ([\d.]+) \(without initial connection time\)/.exec(out);
      if (code === 0 && m) resolve(Number(m[1]));
      else reject(new Error(`pgbench exited ${code}: ${out.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

/** pgbench, 10 clients: single-row UPDATE and single-row INSERT transactions per second. */
export async function pgbench(p: Params): Promise<Result> {
  const seconds = p.jobs ?? 5;
  await recreatePgSchema(schema);
  await withPg(async (c) => {
    await c.query(`CREATE TABLE "${schema}".counters (id int PRIMARY KEY, v bigint NOT NULL DEFAULT 0)`);
    await c.query(`INSERT INTO "${schema}".counters (id) SELECT g FROM generate_series(1, 10000) g`);
    await c.query(CREATE_JOBS);
  });
  mkdirSync(TMP_DIR, { recursive: true });
  const upd = join(TMP_DIR, 'pgbench-update.sql');
  const ins = join(TMP_DIR, 'pgbench-insert.sql');
  writeFileSync(upd, `\\set id random(1, 10000)\nUPDATE "${schema}".counters SET v = v + 1 WHERE id = :id;\n`);
  writeFileSync(ins, `INSERT INTO "${schema}".jobs (queue, name, payload, max_attempts) VALUES ('bench', 'noop', '{"i":1}', 6);\n`);
  const updateTps = await runPgbench(upd, seconds);
  const insertTps = await runPgbench(ins, seconds);
  return { updateTps, insertTps, clients: 10, seconds };
}
