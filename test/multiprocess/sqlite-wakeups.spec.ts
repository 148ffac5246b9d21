import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { freshSqliteFile, sleep } from '../support/databases.js';
import { readRuns, startWorker, until, type WorkerProcess } from './cluster.js';

/** The worker's poll: far longer than any wait below, so only a wake-up can start a job in time. */
const POLL_MS = 10_000;

describe('SQLite: a worker process wakes for jobs another process stores', () => {
  let worker: WorkerProcess | null = null;
  let producer: TypeOrmStorage | null = null;
  let dir = '';
  let removeFile: () => Promise<void> = async () => undefined;

  afterEach(async () => {
    await worker?.stop();
    worker = null;
    await producer?.close();
    producer = null;
    await removeFile();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function setup(changePollMs?: number | false) {
    dir = mkdtempSync(join(tmpdir(), 'jobs-sqlite-wake-'));
    const sqlite = freshSqliteFile();
    removeFile = sqlite.remove;
    producer = await TypeOrmStorage.fromConfig({ type: 'sqlite', database: sqlite.file, changePollMs: false });
    await producer.init();
    const out = join(dir, 'runs.txt');
    worker = await startWorker({ storage: { type: 'sqlite', database: sqlite.file, changePollMs }, out, concurrency: 2, pollIntervalMs: POLL_MS });
    return { producer, out };
  }

  const enqueue = async (storage: TypeOrmStorage) =>
    (await storage.enqueue([{ queue: 'mp', name: 'mp-record', payload: '{}', priority: 0, maxAttempts: 3 }]))[0]!.id;

  it('starts each job well before the poll would (default changePollMs)', async () => {
    const { producer, out } = await setup();
    // Let the worker's first claim come back empty: from here on it waits for a wake-up or its poll.
    await sleep(200);
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      const id = await enqueue(producer);
      await until(async () => readRuns([out]).some((r) => r.id === id), 2_000, `job ${id} to run in the worker process`);
      expect(Date.now() - started).toBeLessThan(2_000);
    }
    expect(readRuns([out])).toHaveLength(5);
  });

  it('with changePollMs: false the job waits for the poll', async () => {
    const { producer, out } = await setup(false);
    await sleep(200);
    const id = await enqueue(producer);
    await sleep(1_000);
    expect(readRuns([out]).some((r) => r.id === id)).toBe(false);
  });
});
