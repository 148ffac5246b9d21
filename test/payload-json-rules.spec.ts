import { describe, expect, it } from 'vitest';
import { InvalidPayloadError, Job, Processor } from '../lib/index.js';
import { closeAppsAfterEach, queueOf } from './fixtures/app.js';
import { memoryApp, refusal } from './fixtures/refusal.js';

@Processor('json-rules')
class PlainProcessor {
  @Job('plain')
  plain() {}
}

/** `depth` arrays (or objects) nested in each other: `[[[…]]]`. */
function nested(depth: number, kind: 'array' | 'object'): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = kind === 'array' ? [v] : { k: v };
  return v;
}

describe('payloads: one rule, what a JSON round trip would change is refused', () => {
  closeAppsAfterEach();

  it.each(['array', 'object'] as const)('20,000 nested %ss: InvalidPayloadError naming the limit, not a RangeError', async (kind) => {
    const { app, storage } = await memoryApp([PlainProcessor]);
    const err = await refusal(InvalidPayloadError, queueOf(app).enqueue('plain', nested(20_000, kind)));
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]!.message).toMatch(/nested deeper than 100 levels/);
    expect((await storage.list({})).jobs).toEqual([]);
  });

  it('100 levels of nesting are accepted and stored intact; 101 are refused', async () => {
    const { app, storage } = await memoryApp([PlainProcessor]);
    const queue = queueOf(app);
    for (const kind of ['array', 'object'] as const) {
      const { id } = await queue.enqueue('plain', nested(100, kind));
      expect((await storage.get(id))!.payload).toEqual(nested(100, kind));
      await refusal(InvalidPayloadError, queue.enqueue('plain', nested(101, kind)));
    }
  });

  it.each<[string, unknown, string, RegExp]>([
    ['an undefined property', { a: undefined }, 'a', /undefined.*omit the key/],
    ['a nested undefined property', { user: { name: 'ada', email: undefined } }, 'user.email', /omit the key/],
    ['undefined in an array', [undefined], '$[0]', /undefined.*use null/],
    ['a sparse array', [1, , 3], '$[1]', /empty slot.*null/],
    ['a nested sparse array', { list: new Array(3) }, 'list[0]', /empty slot.*null/],
  ])('%s: InvalidPayloadError pointing at it and saying what to do', async (_what, payload, path, message) => {
    const { app, storage } = await memoryApp([PlainProcessor]);
    const err = await refusal(InvalidPayloadError, queueOf(app).enqueue('plain', payload));
    expect(err.issues).toContainEqual({ path, message: expect.stringMatching(message) });
    expect((await storage.list({})).jobs).toEqual([]);
  });

  it('the same rule holds for enqueueMany and for a recurring job’s payload', async () => {
    const { app, storage } = await memoryApp([PlainProcessor]);
    const queue = queueOf(app);
    await refusal(InvalidPayloadError, queue.enqueueMany([{ name: 'plain', payload: { ok: 1 } }, { name: 'plain', payload: { a: undefined } }]));
    await refusal(InvalidPayloadError, queue.every('plain', [1, , 3], { every: '1h' }));
    await refusal(InvalidPayloadError, queue.every('plain', nested(20_000, 'array'), { every: '1h' }));
    expect((await storage.list({})).jobs).toEqual([]);
  });

  it('null in place of an absent value is fine, and what is stored is what was given', async () => {
    const { app, storage } = await memoryApp([PlainProcessor]);
    const payload = { a: null, list: [1, null, 3], nested: { deep: [{ x: 'y' }] } };
    const { id } = await queueOf(app).enqueue('plain', payload);
    expect((await storage.get(id))!.payload).toEqual(payload);
  });
});
