import type { JobRecord } from '../core/job-record.js';

/**
 * True when `actual` contains `expected`: every key of an expected object is in the actual one
 * with a matching value (extra keys are fine, at any depth); arrays match element by element
 * and have the same length; other values are equal. `expected` is compared as JSON, as a
 * stored payload is (a `Date` matches its ISO string).
 */
export function matchesPartial(actual: unknown, expected: unknown): boolean {
  return matches(actual, toJson(expected));
}

function matches(actual: unknown, expected: unknown): boolean {
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => matches(actual[i], e));
  }
  if (isPlainObject(expected)) {
    if (!isPlainObject(actual)) return false;
    return Object.keys(expected).every((key) => Object.hasOwn(actual, key) && matches(actual[key], expected[key]));
  }
  return Object.is(actual, expected);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toJson(value: unknown): unknown {
  if (value === undefined) return undefined;
  const text = JSON.stringify(value);
  return text === undefined ? undefined : JSON.parse(text);
}

/** One line per job, for assertion messages: `#12 send-welcome on 'email' (available) {"userId":"ada"}`. */
export function describeJobs(jobs: readonly JobRecord[]): string {
  if (!jobs.length) return '  (no job is enqueued)';
  return jobs.map((j) => `  #${j.id} ${j.name} on '${j.queue}' (${j.state}) ${short(JSON.stringify(j.payload))}`).join('\n');
}

function short(text: string | undefined, max = 200): string {
  if (text === undefined) return 'undefined';
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export function describeMatch(name: string, match: unknown): string {
  return match === undefined ? `'${name}'` : `'${name}' matching ${short(JSON.stringify(match))}`;
}
