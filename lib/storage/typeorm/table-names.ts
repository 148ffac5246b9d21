import { createHash } from 'node:crypto';
import { InvalidOptionsError } from '../../errors/invalid-options.error.js';

export type DialectKind = 'postgres' | 'mysql' | 'sqlite';

/** Tables are named `<prefix>job`, `<prefix>paused_queue`, … The default prefix is `jobs_`. */
export const DEFAULT_TABLE_PREFIX = 'jobs_';

/** Prefixes are spliced into identifiers (they cannot be bind parameters): an allow-list. */
const PREFIX = /^[A-Za-z0-9_]{0,32}$/;
const SCHEMA = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** PostgreSQL truncates identifiers, and rejects NOTIFY channel names, past 63 bytes. */
const MAX_IDENTIFIER = 63;

export interface TableNames {
  /** Quoted, schema-qualified where a schema is set: ready to splice into SQL. */
  jobs: string;
  paused: string;
  counters: string;
  /** Roll-up count changes not yet folded into `counters` (PostgreSQL, MariaDB). */
  deltas: string;
  migrations: string;
  /** Cluster-wide limits of queues, their start logs and blocks (`queue_limit`). */
  limits: string;
  /** Per group of a limited queue: its start log and block (`group_limit`). */
  groupLimits: string;
  /** Slots of a queue's global concurrency held by each worker (`queue_slot`, see `core/slots.ts`). */
  slots: string;
  /** Batches of jobs and their counts (`QueueService.batch`). */
  batches: string;
  /** Quoted name of one of our indexes (`<prefix>job_<suffix>`). */
  index(suffix: string): string;
  /** Unquoted, for messages and lock keys. */
  prefix: string;
  schema: string | null;
  /** PostgreSQL LISTEN/NOTIFY channel, fixed per schema and prefix (quoted for LISTEN). */
  channel: string;
}

export function assertTablePrefix(value: unknown): string {
  if (value === undefined || value === null) return DEFAULT_TABLE_PREFIX;
  if (typeof value !== 'string' || !PREFIX.test(value)) {
    throw new InvalidOptionsError('tablePrefix', 'use 0 to 32 characters from A-Z a-z 0-9 _');
  }
  return value;
}

export function assertSchema(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || !SCHEMA.test(value)) {
    throw new InvalidOptionsError('schema', 'use 1 to 63 characters from A-Z a-z 0-9 _, not starting with a digit');
  }
  return value;
}

export function tableNames(kind: DialectKind, prefix: string, schema: string | null): TableNames {
  const quote = kind === 'mysql' ? (id: string) => `\`${id}\`` : (id: string) => `"${id}"`;
  // Only PostgreSQL has schemas here; MariaDB's "schema" is the database, chosen by the connection.
  const qualified = (id: string) => (kind === 'postgres' && schema ? `${quote(schema)}.${quote(id)}` : quote(id));
  return {
    jobs: qualified(`${prefix}job`),
    paused: qualified(`${prefix}paused_queue`),
    counters: qualified(`${prefix}counter`),
    deltas: qualified(`${prefix}counter_delta`),
    migrations: qualified(`${prefix}migration`),
    limits: qualified(`${prefix}queue_limit`),
    groupLimits: qualified(`${prefix}group_limit`),
    batches: qualified(`${prefix}batch`),
    slots: qualified(`${prefix}queue_slot`),
    index: (suffix) => quote(`${prefix}job_${suffix}`),
    prefix,
    schema: kind === 'postgres' ? schema : null,
    channel: channelName(prefix, kind === 'postgres' ? schema : null),
  };
}

/**
 * One fixed channel per schema and prefix (`<prefix>jobs`, or `<prefix>jobs_<schema>`), so
 * two job stores in one database never wake, or cancel jobs of, each other. Over 63 bytes
 * the schema part becomes a short hash.
 */
function channelName(prefix: string, schema: string | null): string {
  const base = `${prefix}jobs`;
  if (!schema) return base;
  const full = `${base}_${schema}`;
  if (full.length <= MAX_IDENTIFIER) return full;
  return `${base}_${createHash('sha1').update(schema).digest('hex').slice(0, 16)}`;
}
