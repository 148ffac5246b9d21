import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_COLUMNS, rowsOfJobsJson } from '../../lib/storage/typeorm/dialects/sqlite.statements.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { freshSqliteStorage } from '../support/databases.js';

/** The SQLite claim returns each job as one JSON array (JOB_JSON); decoding must keep every column and its type. */
describe('sqlite claim rows', () => {
  let storage: TypeOrmStorage;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ storage, cleanup } = await freshSqliteStorage());
  });
  afterAll(async () => {
    await cleanup();
  });

  it('decodes the columns in the order JOB_COLUMNS selects them', () => {
    const names = JOB_COLUMNS.split(', ');
    const [row] = rowsOfJobsJson(JSON.stringify([names]));
    expect(Object.keys(row!)).toEqual(names);
    for (const name of names) expect(row![name]).toBe(name);
  });

  it('a claimed job equals the job read back, all optional fields set, on its second attempt', async () => {
    const payload = JSON.stringify({ text: 'quote " backslash \\ ünïcode ✓', n: 1.5, list: [1, null, { a: true }] });
    const [r] = await storage.enqueue([
      {
        queue: 'rows', name: 'full', payload, priority: 2, maxAttempts: 3, uniqueKey: 'k-1', uniqueWhile: 'running',
        backoff: { type: 'fixed', ms: 10 }, timeoutMs: 1234,
      },
    ]);
    const id = r!.id;
    const [first] = await storage.claim('rows', 'w1', 10, 30_000);
    expect(first).toEqual(await storage.get(id));
    await storage.progress(id, 'w1', 42.5, JSON.stringify({ step: 'half' }));
    const error = { name: 'Boom', message: 'failed "once"', attempt: 1, at: new Date().toISOString() };
    expect(await storage.fail([{ id, workerId: 'w1', error, retryDelayMs: 0 }])).toEqual([id]);

    const [second] = await storage.claim('rows', 'w2', 10, 30_000);
    expect(second).toEqual(await storage.get(id));
    expect(second).toMatchObject({
      id, queue: 'rows', name: 'full', state: 'running', priority: 2, attempt: 2, maxAttempts: 3, lockedBy: 'w2',
      uniqueKey: 'k-1', backoff: { type: 'fixed', ms: 10 }, timeoutMs: 1234, progress: 42.5,
      progressData: { step: 'half' }, lastError: error, result: null, cancelRequested: false,
    });
    expect(second!.payload).toEqual(JSON.parse(payload));
    expect(second!.startedAt).toBeInstanceOf(Date);
    expect(second!.lockedUntil!.getTime()).toBeGreaterThan(second!.startedAt!.getTime());
  });
});
