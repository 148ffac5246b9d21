import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { UNIQUE_OPTION_KEYS, type EnqueueOptions } from './enqueue-options.js';
import type { NewJob } from './job-record.js';
import { assertKnownKeys } from './known-keys.js';
import { assertMs, DELAY_LIMIT } from './option-rules.js';
import { assertUniqueKey } from './validation.js';

const UNIQUE_WHILE = new Set(['queued', 'running', 'until-complete']);

/**
 * The key as given, and its window as a length: the storage stamps the window's end from its
 * own clock when it stores the job, so instances whose clocks differ agree on it.
 */
export function uniquenessOf(options: EnqueueOptions): Pick<NewJob, 'uniqueKey' | 'uniqueWhile' | 'uniqueTtlMs'> {
  if (options.uniqueKey === undefined) {
    if (options.unique !== undefined) throw new InvalidOptionsError('unique', 'needs a `uniqueKey`');
    return { uniqueKey: null, uniqueWhile: null, uniqueTtlMs: null };
  }
  const key = assertUniqueKey(options.uniqueKey);
  const unique = options.unique ?? {};
  if (typeof unique !== 'object' || unique === null) throw new InvalidOptionsError('unique', 'expected { while?, ttlMs? }');
  assertKnownKeys(unique, UNIQUE_OPTION_KEYS, 'unique options', 'unique.');
  if (unique.while !== undefined && !UNIQUE_WHILE.has(unique.while)) {
    throw new InvalidOptionsError('unique.while', "expected 'queued', 'running' or 'until-complete'");
  }
  const ttl = unique.ttlMs === undefined ? null : assertMs('unique.ttlMs', unique.ttlMs, DELAY_LIMIT, 1);
  return { uniqueKey: key, uniqueWhile: unique.while ?? null, uniqueTtlMs: ttl };
}
