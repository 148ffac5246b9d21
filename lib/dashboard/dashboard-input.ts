import { BadRequestException } from '@nestjs/common';
import { JOB_STATES, type JobState } from '../core/job-record.js';
import type { ListFilter } from '../core/storage.js';
import { isValidName } from '../core/validation.js';

/** Checks of the JSON API's inputs; each refusal is a 400 naming the input and what it expects. */

const ID = /^\d{1,20}$/;
const MAX_LIMIT = 1000;
/** Jobs one bulk action may name. */
export const MAX_BULK = 1000;

const bad = (message: string) => new BadRequestException(message);

export function jobId(value: unknown): string {
  if (typeof value !== 'string' || !ID.test(value)) throw bad(`Invalid job id ${JSON.stringify(value)}: expected a decimal number.`);
  return value;
}

export function queueName(value: unknown, what = 'queue'): string {
  if (!isValidName(value)) throw bad(`Invalid ${what} ${JSON.stringify(value)}: use 1 to 128 characters from A-Z a-z 0-9 _ . : -`);
  return value;
}

const optional = <T>(value: unknown, check: (v: unknown) => T): T | undefined => (value === undefined || value === '' ? undefined : check(value));

function state(value: unknown): JobState {
  if (!JOB_STATES.includes(value as JobState)) throw bad(`Invalid state ${JSON.stringify(value)}: expected one of ${JOB_STATES.join(', ')}.`);
  return value as JobState;
}

function limit(value: unknown): number {
  const n = typeof value === 'string' && /^\d{1,7}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= MAX_LIMIT)) throw bad(`Invalid limit ${JSON.stringify(value)}: expected a whole number from 1 to ${MAX_LIMIT}.`);
  return n;
}

function cursor(value: unknown): string {
  if (typeof value !== 'string' || !ID.test(value)) throw bad(`Invalid cursor ${JSON.stringify(value)}: pass back the nextCursor of the previous page.`);
  return value;
}

/** Rejects query parameters the route does not know, so a typo is not silently ignored. */
export function knownQuery(query: Record<string, unknown>, known: readonly string[]): void {
  for (const [key, value] of Object.entries(query)) {
    if (!known.includes(key)) throw bad(`Unknown query parameter '${key}' (known: ${known.join(', ') || 'none'}).`);
    if (typeof value !== 'string') throw bad(`Query parameter '${key}' is given more than once.`);
  }
}

/** `GET api/jobs?queue=&state=&name=&limit=&cursor=` */
export function listQuery(query: Record<string, unknown>): ListFilter {
  knownQuery(query, ['queue', 'state', 'name', 'limit', 'cursor']);
  const filter: ListFilter = { limit: optional(query.limit, limit) ?? 50 };
  const q = optional(query.queue, (v) => queueName(v));
  const s = optional(query.state, state);
  const n = optional(query.name, (v) => queueName(v, 'job name'));
  const c = optional(query.cursor, cursor);
  if (q !== undefined) filter.queue = q;
  if (s !== undefined) filter.state = s;
  if (n !== undefined) filter.name = n;
  if (c !== undefined) filter.cursor = c;
  return filter;
}

function body(value: unknown, known: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('Expected a JSON object as the body ({} when there is nothing to say).');
  const b = value as Record<string, unknown>;
  for (const key of Object.keys(b)) if (!known.includes(key)) throw bad(`Unknown field '${key}' in the body (known: ${known.join(', ') || 'none'}).`);
  return b;
}

export function emptyBody(value: unknown): void {
  body(value, []);
}

export type BulkAction = 'retry' | 'cancel';

/** `POST api/jobs/bulk` with `{ action: 'retry' | 'cancel', ids: [...] }`. */
export function bulkBody(value: unknown): { action: BulkAction; ids: string[] } {
  const b = body(value, ['action', 'ids']);
  if (b.action !== 'retry' && b.action !== 'cancel') throw bad(`Invalid action ${JSON.stringify(b.action)}: expected 'retry' or 'cancel'.`);
  if (!Array.isArray(b.ids) || b.ids.length === 0) throw bad('Invalid ids: expected a non-empty array of job ids.');
  if (b.ids.length > MAX_BULK) throw bad(`Too many ids (${b.ids.length}): at most ${MAX_BULK} per action.`);
  return { action: b.action, ids: [...new Set(b.ids.map(jobId))] };
}

/** `POST api/queues/:queue/prune` with `{ olderThan?: ISO date }` (default: now): deletes completed jobs finished before it. */
export function pruneBody(value: unknown): Date {
  const b = body(value, ['olderThan']);
  if (b.olderThan === undefined) return new Date();
  const at = typeof b.olderThan === 'string' ? new Date(b.olderThan) : new Date(NaN);
  if (Number.isNaN(at.getTime())) throw bad(`Invalid olderThan ${JSON.stringify(b.olderThan)}: expected an ISO date such as 2026-01-31T00:00:00Z.`);
  return at;
}
