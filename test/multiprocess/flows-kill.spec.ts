import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NewFlowNode } from '../../lib/core/job-record.js';
import type { StorageConfig } from '../../lib/index.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { databaseAvailable, freshPostgresSchema, PG_URL } from '../support/databases.js';
import { readRuns, startWorker, until, type WorkerProcess } from './cluster.js';

const FLOWS = Number(process.env.FLOW_KILL_FLOWS ?? 200);
const CHILDREN = Number(process.env.FLOW_KILL_CHILDREN ?? 50);

const job = (name: string) => ({ queue: 'mp', name, payload: '{}', priority: 0, maxAttempts: 10 });
const flow = (): NewFlowNode => ({
  job: job('mp-flow-parent'),
  onChildFailure: 'fail',
  children: Array.from({ length: CHILDREN }, () => ({ job: job('mp-flow-child'), onChildFailure: 'fail' as const, children: [] })),
});

describe.runIf(await databaseAvailable('postgres'))('flows across worker processes on PostgreSQL, with kill -9', () => {
  const workers: WorkerProcess[] = [];
  let dir = '';
  let storage: TypeOrmStorage | undefined;
  let drop: (() => Promise<void>) | undefined;

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill()));
    await storage?.close();
    await drop?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`${FLOWS} flows of ${CHILDREN} children: every parent starts once, after all its children, though a worker is killed mid-run`, { timeout: 240_000 }, async () => {
    const pg = await freshPostgresSchema();
    drop = pg.drop;
    const config: StorageConfig = { type: 'postgres', url: PG_URL, schema: pg.schema, poolSize: 4 };
    dir = mkdtempSync(join(tmpdir(), 'jobs-flows-'));
    storage = await TypeOrmStorage.fromConfig(config as never);
    await storage.init();
    const outs = [0, 1, 2, 3].map((i) => join(dir, `w${i}.log`));
    const worker = (out: string) => startWorker({ storage: config, out, concurrency: 8, prefetch: 8, leaseMs: 1_000, pollIntervalMs: 50 });
    workers.push(...(await Promise.all(outs.slice(0, 3).map(worker))));
    const parents: string[] = [];
    for (let i = 0; i < FLOWS; i++) parents.push((await storage.enqueueFlow(flow())).id);

    // Kill one worker while children (and some parents) run; a fresh one joins.
    await until(async () => readRuns(outs).length >= (FLOWS * CHILDREN) / 3, 120_000, 'a third of the children to run');
    await workers[0]!.kill();
    workers.push(await worker(outs[3]!));

    await until(
      async () => (await Promise.all(parents.map((id) => storage!.get(id)))).every((p) => p!.state === 'completed'),
      200_000,
      'every parent to complete',
    );
    const runs = readRuns(outs);
    const parentRuns = runs.filter((r) => r.tag?.startsWith('parent'));
    // Every parent ran after all its children had completed; none started twice in one attempt.
    expect(parentRuns.filter((r) => r.tag !== 'parent-ok')).toEqual([]);
    // Each parent ran once in the processes that were not killed, and at most once in the
    // killed one: a run cut by the kill -9 is run again after its lease expires (with the same
    // attempt when it was still prefetched: see Storage.claim), never in parallel.
    const survivors = readRuns(outs.slice(1)).filter((r) => r.tag?.startsWith('parent'));
    const victim = readRuns(outs.slice(0, 1)).filter((r) => r.tag?.startsWith('parent'));
    for (const id of parents) {
      const here = survivors.filter((r) => r.id === id).length;
      const there = victim.filter((r) => r.id === id).length;
      expect(here + there).toBeGreaterThanOrEqual(1);
      expect(here).toBeLessThanOrEqual(1);
      expect(there).toBeLessThanOrEqual(1);
    }
    const reruns = parentRuns.length - FLOWS;
    expect(reruns).toBeLessThanOrEqual(victim.length);
    for (const id of parents) {
      const kids = await storage.children!(id);
      expect(kids).toHaveLength(CHILDREN);
      expect(kids.every((k) => k.state === 'completed')).toBe(true);
      const parent = (await storage.get(id))!;
      const lastChild = Math.max(...kids.map((k) => k.completedAt!.getTime()));
      expect(parent.startedAt!.getTime()).toBeGreaterThanOrEqual(lastChild);
    }
    expect((await storage.list({ state: 'waiting' })).jobs).toEqual([]);
  });
});
