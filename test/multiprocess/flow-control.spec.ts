import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StorageConfig } from '../../lib/index.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { databaseAvailable, freshPostgresSchema, PG_URL } from '../support/databases.js';
import { readRuns, startWorker, until, type WorkerProcess } from './cluster.js';

/** Runs of `mp-timed`: when each handler started and ended (one machine, one clock). */
function timedRuns(files: string[]): Array<{ id: string; start: number; end: number }> {
  return files.flatMap((f) =>
    existsSync(f)
      ? readFileSync(f, 'utf8').split('\n').filter((l) => l.includes(' timed ')).map((l) => {
          const [id, , , start, end] = l.split(' ');
          return { id: id!, start: Number(start), end: Number(end) };
        })
      : [],
  );
}

/** The most handlers running at once. */
function maxOverlap(runs: Array<{ start: number; end: number }>): number {
  const edges = runs.flatMap((r) => [[r.start, 1], [r.end, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of edges) max = Math.max(max, (now += d));
  return max;
}

/** The most starts within any span of `ms`. */
function maxStartsWithin(runs: Array<{ start: number }>, ms: number): number {
  const s = runs.map((r) => r.start).sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < s.length; i++) {
    while (s[i]! - s[j]! >= ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

if (await databaseAvailable('postgres')) {
  describe('flow control across worker processes on one postgres database', () => {
    const workers: WorkerProcess[] = [];
    let dir = '';
    let storage: TypeOrmStorage;
    let drop: () => Promise<void> = async () => undefined;
    let config: StorageConfig;

    const setup = async () => {
      const pg = await freshPostgresSchema();
      drop = pg.drop;
      config = { type: 'postgres', url: PG_URL, schema: pg.schema, poolSize: 4 };
      dir = mkdtempSync(join(tmpdir(), 'jobs-fc-'));
      storage = await TypeOrmStorage.fromConfig(config as never);
      await storage.init();
    };
    const enqueue = (name: string, n: number, payload: unknown) =>
      storage.enqueue(Array.from({ length: n }, () => ({ queue: 'mp', name, payload: JSON.stringify(payload), priority: 0, maxAttempts: 5 })));
    const counts = async () => (await storage.stats()).find((s) => s.queue === 'mp');

    afterEach(async () => {
      await Promise.all(workers.splice(0).map((w) => w.kill()));
      await storage?.close();
      await drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('4 processes of concurrency 20 with globalConcurrency 5: never more than 5 handlers at once', { timeout: 120_000 }, async () => {
      await setup();
      await enqueue('mp-timed', 200, { ms: 20 });
      const outs = [0, 1, 2, 3].map((i) => join(dir, `w${i}.log`));
      workers.push(...(await Promise.all(outs.map((out) => startWorker({ storage: config, out, concurrency: 20, globalConcurrency: 5, pollIntervalMs: 20 })))));
      await until(async () => (await counts())?.completed.allTime === 200, 100_000, 'every job to complete');
      const runs = timedRuns(outs);
      expect(runs).toHaveLength(200);
      expect(maxOverlap(runs)).toBeLessThanOrEqual(5);
      expect(maxOverlap(runs)).toBeGreaterThanOrEqual(3);
      expect(outs.filter((o) => timedRuns([o]).length > 0).length).toBeGreaterThanOrEqual(2);
    });

    it('3 processes with rateLimit 20 per 500 ms: no span of 500 ms holds more than 20 starts, and the rate is sustained', { timeout: 120_000 }, async () => {
      await setup();
      await enqueue('mp-timed', 120, { ms: 1 });
      const outs = [0, 1, 2].map((i) => join(dir, `w${i}.log`));
      workers.push(...(await Promise.all(outs.map((out) => startWorker({ storage: config, out, concurrency: 20, rateLimit: { limit: 20, intervalMs: 500 }, pollIntervalMs: 20 })))));
      await until(async () => (await counts())?.completed.allTime === 120, 100_000, 'every job to complete');
      const runs = timedRuns(outs);
      expect(runs).toHaveLength(120);
      // The limit holds on the database's clock, where each claim dates its starts; a handler
      // starts when its process gets the claim's answer, which on a loaded machine can lag by
      // tens of ms more in one process than in another: 100 ms of slack for that.
      expect(maxStartsWithin(runs, 400)).toBeLessThanOrEqual(20);
      const span = Math.max(...runs.map((r) => r.start)) - Math.min(...runs.map((r) => r.start));
      // 120 starts at 20 per 500 ms need at least 2.5 s; sustained: well under twice that.
      expect(span).toBeGreaterThanOrEqual(2_400);
      expect(span).toBeLessThan(6_000);
    });

    it('kill -9 of a process holding every slot: its slots come back when its hold lapses, no slot leaks', { timeout: 60_000 }, async () => {
      await setup();
      await storage.setLimits('mp', { globalConcurrency: 3 });
      await enqueue('mp-hold', 3, { holdMs: 600_000 });
      const victimOut = join(dir, 'victim.log');
      const victim = await startWorker({ storage: config, out: victimOut, concurrency: 10, prefetch: 0, leaseMs: 800, globalConcurrency: 3, pollIntervalMs: 20 });
      workers.push(victim);
      await until(async () => readRuns([victimOut]).length === 3, 20_000, 'the victim to take every slot');
      await enqueue('mp-timed', 30, { ms: 5 });
      await victim.kill();
      expect((await counts())!.running).toBe(3);
      const survivorOut = join(dir, 'survivor.log');
      workers.push(await startWorker({ storage: config, out: survivorOut, concurrency: 10, leaseMs: 800, globalConcurrency: 3, pollIntervalMs: 20 }));
      await until(async () => (await counts())?.completed.allTime === 33, 30_000, 'the survivor to complete every job');
      expect(maxOverlap(timedRuns([survivorOut]))).toBeLessThanOrEqual(3);
      expect(await counts()).toMatchObject({ running: 0, available: 0 });
    });
  });
}
