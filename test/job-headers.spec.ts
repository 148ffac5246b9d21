import { describe, expect, it } from 'vitest';
import { MAX_HEADER_NAME, MAX_HEADERS, MAX_HEADERS_BYTES } from '../lib/core/headers.js';
import { InvalidOptionsError, JobsModule } from '../lib/index.js';
import { closeAppsAfterEach, queueOf, startApp } from './fixtures/app.js';

const producer = async () =>
  queueOf(await startApp({ imports: [JobsModule.forRoot({ storage: { type: 'memory' }, logger: false, workers: false })] }));

describe('job headers at enqueue', () => {
  closeAppsAfterEach();

  const many = Object.fromEntries(Array.from({ length: MAX_HEADERS + 1 }, (_, i) => [`h${i}`, 'v']));
  it.each([
    ['not an object', 'x-tenant=acme', "Invalid option 'headers': expected a plain object of string values"],
    ['an array', ['a'], "Invalid option 'headers': expected a plain object of string values"],
    ['null', null, "Invalid option 'headers': expected a plain object of string values"],
    ['a Map', new Map([['a', 'b']]), 'not a class instance (a Map: use Object.fromEntries)'],
    ['a number value', { attempt: 3 }, "Invalid option 'headers.attempt': a header value is a string, got number"],
    ['a null value', { a: null }, "Invalid option 'headers.a': a header value is a string, got null"],
    ['an empty name', { '': 'v' }, `a header name has 1 to ${MAX_HEADER_NAME} characters, got 0`],
    ['a long name', { ['n'.repeat(MAX_HEADER_NAME + 1)]: 'v' }, `a header name has 1 to ${MAX_HEADER_NAME} characters, got ${MAX_HEADER_NAME + 1}`],
    ['too many', many, `at most ${MAX_HEADERS} headers per job, got ${MAX_HEADERS + 1}`],
    ['too large', { big: 'é'.repeat(MAX_HEADERS_BYTES / 2) }, `headers take at most ${MAX_HEADERS_BYTES} bytes of JSON, got ${MAX_HEADERS_BYTES + 10}`],
  ])('refuses headers that are %s, storing nothing', async (_what, headers, message) => {
    const queue = await producer();
    const attempt = queue.enqueue('any', {}, { headers: headers as Record<string, string> });
    await expect(attempt).rejects.toThrow(InvalidOptionsError);
    await expect(attempt).rejects.toThrow(message);
    await expect(queue.enqueueMany([{ name: 'any', payload: {} }, { name: 'any', payload: {}, options: { headers: headers as Record<string, string> } }])).rejects.toThrow(message);
    expect((await queue.list({})).jobs).toEqual([]);
  });

  it('accepts headers at the limits, and {} (stored as none)', async () => {
    const queue = await producer();
    const full = Object.fromEntries(Array.from({ length: MAX_HEADERS }, (_, i) => [`h${String(i).padStart(2, '0')}`, 'v']));
    full['n'.repeat(MAX_HEADER_NAME)] = 'long name';
    delete full.h00;
    // Padded so that the JSON text is exactly the limit.
    full.h01 = 'x'.repeat(MAX_HEADERS_BYTES - Buffer.byteLength(JSON.stringify(full)) + 1);
    expect(Buffer.byteLength(JSON.stringify(full))).toBe(MAX_HEADERS_BYTES);
    const { id } = await queue.enqueue('any', {}, { headers: full });
    expect((await queue.getJob(id))!.headers).toEqual(full);
    const none = await queue.enqueue('any', {}, { headers: {} });
    expect((await queue.getJob(none.id))!.headers).toEqual({});
  });
});
