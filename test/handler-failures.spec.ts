import type { DynamicModule } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { Job, JobsModule, Processor } from '../lib/index.js';
import { closeAppsAfterEach, queueOf, startApp } from './fixtures/app.js';
import { EventLog } from './fixtures/event-log.js';

const circular: Record<string, unknown> = { kind: 'circular' };
circular.self = circular;

/** What each job throws, or how it fails. */
const failures: Record<string, () => unknown> = {
  'throws-string': () => {
    throw 'plain string';
  },
  'throws-undefined': () => {
    throw undefined;
  },
  'throws-null': () => {
    throw null;
  },
  'throws-object': () => {
    throw { code: 42 };
  },
  'throws-circular-object': () => {
    throw circular;
  },
  'returns-rejected-promise': () => Promise.reject(new RangeError('rejected on purpose')),
  'rejects-with-number': () => Promise.reject(42),
  'throws-sync-error': () => {
    throw new Error('sync');
  },
};

@Processor({ queue: 'failures', maxRetries: 0 })
class FailingProcessor {
  @Job('throws-string') a() { return failures['throws-string']!(); }
  @Job('throws-undefined') b() { return failures['throws-undefined']!(); }
  @Job('throws-null') c() { return failures['throws-null']!(); }
  @Job('throws-object') d() { return failures['throws-object']!(); }
  @Job('throws-circular-object') e() { return failures['throws-circular-object']!(); }
  @Job('returns-rejected-promise') f() { return failures['returns-rejected-promise']!(); }
  @Job('rejects-with-number') g() { return failures['rejects-with-number']!(); }
  @Job('throws-sync-error') h() { return failures['throws-sync-error']!(); }
  @Job('fine') fine() { return 'fine'; }
}

class FailuresAppModule {
  static register(): DynamicModule {
    return {
      module: FailuresAppModule,
      imports: [JobsModule.forRoot({ storage: { type: 'memory' }, logger: false, queues: { failures: { concurrency: 1 } } })],
      providers: [FailingProcessor],
    };
  }
}

describe('handlers that fail in odd ways', () => {
  closeAppsAfterEach();

  it.each([
    ['throws-string', 'NonError', 'Non-error thrown: plain string'],
    ['throws-undefined', 'NonError', 'Non-error thrown: undefined'],
    ['throws-null', 'NonError', 'Non-error thrown: null'],
    ['throws-object', 'NonError', 'Non-error thrown: {"code":42}'],
    ['throws-circular-object', 'NonError', 'Non-error thrown: [object Object]'],
    ['returns-rejected-promise', 'RangeError', 'rejected on purpose'],
    ['rejects-with-number', 'NonError', 'Non-error thrown: 42'],
    ['throws-sync-error', 'Error', 'sync'],
  ])('%s: the attempt fails with %s, and the worker keeps running jobs', async (name, errorName, message) => {
    const app = await startApp({ imports: [FailuresAppModule.register()] });
    const log = new EventLog(queueOf(app).events$);
    const bad = await queueOf(app).enqueue(name, {});
    const good = await queueOf(app).enqueue('fine', {});
    const dead = await log.waitFor('dead', bad.id);
    expect(dead.error).toMatchObject({ name: errorName, message });
    expect((await queueOf(app).getJob(bad.id))?.lastError).toMatchObject({ name: errorName, message });
    await log.waitFor('completed', good.id);
    expect(await queueOf(app).getJob(good.id)).toMatchObject({ state: 'completed', result: 'fine' });
  });
});
