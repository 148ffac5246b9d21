import { Cron } from 'croner';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';

/** When a recurring job fires: a cron expression (with an optional IANA time zone) or a fixed interval. */
export type ScheduleSpec = { cron: string; timezone?: string } | { every: number };

export interface ScheduleInput {
  /** Five or six fields (seconds first when six), e.g. `'0 3 * * *'`. */
  cron?: string;
  /** IANA time zone of the cron expression, e.g. `'Europe/Paris'`; default UTC. */
  timezone?: string;
  /** Interval in ms, or a duration such as `'30s'`, `'5m'`, `'1h'`, `'1d'`. */
  every?: number | string;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const MIN_EVERY_MS = 100;

/** Validates a schedule; an invalid cron expression, time zone or interval is an error naming it. */
export function parseSchedule(input: ScheduleInput, where: string): ScheduleSpec {
  if (input.cron !== undefined && input.every !== undefined) {
    throw new InvalidOptionsError(where, 'give either `cron` or `every`, not both');
  }
  if (input.every !== undefined) {
    if (input.timezone !== undefined) throw new InvalidOptionsError(where, '`timezone` goes with `cron`, not `every`');
    return { every: parseDuration(input.every, where) };
  }
  if (typeof input.cron !== 'string') throw new InvalidOptionsError(where, 'expected `cron` (an expression) or `every` (ms or a duration)');
  if (input.timezone !== undefined) assertTimeZone(input.timezone, where);
  try {
    new Cron(input.cron, { timezone: input.timezone, paused: true }).nextRun();
  } catch (err) {
    throw new InvalidOptionsError(where, `invalid cron expression '${input.cron}': ${(err as Error).message}`);
  }
  return input.timezone ? { cron: input.cron, timezone: input.timezone } : { cron: input.cron };
}

/** The first tick strictly after `after` (epoch ms). Interval ticks are aligned to the epoch, so every instance computes the same ones. */
export function nextTick(spec: ScheduleSpec, after: number): number {
  if ('every' in spec) return (Math.floor(after / spec.every) + 1) * spec.every;
  const next = new Cron(spec.cron, { timezone: spec.timezone, paused: true }).nextRun(new Date(after));
  if (!next) throw new InvalidOptionsError('cron', `expression '${spec.cron}' has no future run`);
  return next.getTime();
}

export function parseDuration(value: number | string, where: string): number {
  let ms: number;
  if (typeof value === 'number') ms = value;
  else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(String(value));
    if (!m) throw new InvalidOptionsError(where, `invalid duration '${String(value)}': use ms or e.g. '30s', '5m', '1h', '1d'`);
    ms = Number(m[1]) * UNITS[m[2]!]!;
  }
  if (!Number.isFinite(ms) || ms < MIN_EVERY_MS || ms > 366 * UNITS.d!) {
    throw new InvalidOptionsError(where, `interval must be from ${MIN_EVERY_MS} ms to a year, got ${String(value)}`);
  }
  return Math.round(ms);
}

function assertTimeZone(tz: string, where: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new InvalidOptionsError(where, `unknown time zone '${tz}': use an IANA name such as 'Europe/Paris'`);
  }
}
