import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import type { EngineLogger } from './engine-options.js';
import type { HandlerRegistry, MissedTicks } from './handler-registry.js';
import { headersJson } from './headers.js';
import type { JobClient } from './job-client.js';
import type { JobRecord, JobState } from './job-record.js';
import { assertKnownKeys, knownKeys } from './known-keys.js';
import { assertMissedTicks, DEFAULT_QUEUE } from './option-rules.js';
import { MaxRetries, Backoff } from './retry-policy.js';
import { nextTick, parseSchedule, type ScheduleInput, type ScheduleSpec } from './schedule-spec.js';
import { Snooze, Snoozed } from './snooze.js';
import type { Storage } from './storage.js';
import { assertName } from './validation.js';

/** Internal job name of a schedule's row. */
export const SCHEDULE_JOB = 'jobs:schedule';

/** What a schedule's row carries (its payload). */
export interface ScheduleRow {
  key: string;
  job: string;
  queue: string;
  payload: unknown;
  spec: ScheduleSpec;
  missedTicks: MissedTicks;
  /** Declared with `@Job({ cron | every })`: the code's current declaration wins over the row. */
  declarative: boolean;
  /** Headers of every tick's job (`every(…, { headers })`); rows stored before headers existed have none. */
  headers?: Record<string, string>;
}

export interface EveryOptions extends ScheduleInput {
  /** Names the schedule (for `unschedule`); default: the job name. */
  key?: string;
  queue?: string;
  missedTicks?: MissedTicks;
  /**
   * Headers of every tick's job (checked as at enqueue). The enqueue middleware run for each
   * tick, on the instance that fires it, outside any request.
   */
  headers?: Record<string, string>;
}

const EVERY_OPTION_KEYS = knownKeys<EveryOptions>({
  every: true, cron: true, timezone: true, key: true, queue: true, missedTicks: true, headers: true,
});

/** A stored schedule as `QueueService.schedules()` lists it. */
export interface ScheduleInfo {
  key: string;
  job: string;
  queue: string;
  spec: ScheduleSpec;
  /** The next tick (the row's due time); while `firing`, the tick being fired. */
  nextRunAt: Date;
  /** An instance is firing a tick right now. */
  firing: boolean;
  /** Declared with `@Job({ cron | every })` rather than stored with `every()`. */
  declarative: boolean;
}

/** States a schedule's row lives in; `cancelled` (unscheduled) is not one. */
const LIVE_ROW_STATES: readonly JobState[] = ['scheduled', 'available', 'retryable', 'running'];

const rowKey = (key: string) => `jobs:schedule:${key}`;

/**
 * Recurring jobs as stored rows, not in-process timers. Each schedule is one job row (the
 * "schedule row") whose `runAt` is the next tick. Whichever instance claims it enqueues that
 * tick's job (unique key `<key>:<tick>`) and puts the row back to sleep until the following
 * tick, without counting an attempt, both in one transaction (`Storage.snoozeWith`). With N
 * instances each tick therefore fires once, and a crash between the two cannot fire it
 * twice: the rescued row's tick is its rescue time, so its unique key would not catch the
 * repeat, and the first tick's job may have finished anyway. After an outage the row is
 * simply late: it fires once, then moves to the next tick after now (no storm of missed
 * ticks); `missedTicks: 'skip'` skips a late tick instead.
 */
export class Scheduler {
  constructor(
    private readonly storage: Storage,
    private readonly client: JobClient,
    private readonly registry: HandlerRegistry,
    private readonly logger: EngineLogger,
  ) {
    registry.register({
      name: SCHEDULE_JOB,
      queue: DEFAULT_QUEUE,
      owner: 'Scheduler',
      internal: true,
      maxRetries: MaxRetries.infinite(),
      backoff: Backoff.fixed(1000),
      handler: (payload, _ctx, record) => this.tick(payload as ScheduleRow, record),
    });
  }

  /** Stores the rows of schedules declared with `@Job({ cron | every })`; idempotent across instances. */
  async registerDeclared(): Promise<void> {
    for (const def of this.registry.all()) {
      if (!def.schedule) continue;
      await this.store({
        key: def.name,
        job: def.name,
        queue: def.queue,
        payload: null,
        spec: def.schedule,
        missedTicks: def.missedTicks ?? 'run-once',
        declarative: true,
      }, false);
    }
  }

  /** Runs `name` on a schedule from now on; replaces a schedule with the same key. */
  async every(name: string, payload: unknown, options: EveryOptions): Promise<{ key: string }> {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('every', 'expected { every | cron, timezone?, key? }');
    assertKnownKeys(options, EVERY_OPTION_KEYS, 'every options');
    const key = assertName('schedule key', options.key ?? name);
    const spec = parseSchedule(options, `schedule '${key}'`);
    const missed = options.missedTicks === undefined ? 'run-once' : assertMissedTicks('missedTicks', options.missedTicks);
    const queue = assertName('queue name', options.queue ?? this.registry.get(name)?.queue ?? DEFAULT_QUEUE);
    const row: ScheduleRow = { key, job: name, queue, payload, spec, missedTicks: missed, declarative: false };
    if (options.headers !== undefined && headersJson('headers', options.headers) !== null) row.headers = { ...options.headers };
    await this.store(row, true);
    return { key };
  }

  /**
   * Stops a schedule. True when there was one. Once it resolves no tick of the schedule is
   * stored any more: a waiting row is cancelled; a row firing a tick right now is asked to
   * cancel, and its snooze (`Storage.snoozeWith`) then ends it and stores nothing. Tick jobs
   * stored before still run.
   */
  async unschedule(key: string): Promise<boolean> {
    const row = await this.storage.findByUniqueKey(rowKey(assertName('schedule key', key)));
    if (!row) return false;
    await this.storage.cancel(row.id);
    return true;
  }

  /** The stored schedules (rows waiting or firing), by key. */
  async list(): Promise<ScheduleInfo[]> {
    const out: ScheduleInfo[] = [];
    for (const state of LIVE_ROW_STATES) {
      let cursor: string | null = null;
      do {
        const page = await this.storage.list({ name: SCHEDULE_JOB, state, limit: 500, cursor });
        for (const job of page.jobs) {
          const row = job.payload as ScheduleRow;
          out.push({ key: row.key, job: row.job, queue: row.queue, spec: row.spec, nextRunAt: job.runAt, firing: state === 'running', declarative: row.declarative });
        }
        cursor = page.nextCursor;
      } while (cursor);
    }
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }

  private async store(row: ScheduleRow, replace: boolean): Promise<void> {
    // Validate the target job now (name, payload, queue), so a bad schedule fails at the call.
    await this.client.validate(row.job, row.payload, { queue: row.queue });
    for (let tries = 0; tries < 100; tries++) {
      const now = await this.storage.now();
      const result = await this.client.enqueue(SCHEDULE_JOB, row, {
        queue: row.queue,
        uniqueKey: rowKey(row.key),
        runAt: new Date(nextTick(row.spec, now)),
      });
      if (!result.duplicate || !replace) return;
      const existing = await this.storage.get(result.id);
      if (existing && existing.state !== 'running') await this.storage.cancel(result.id);
      else await new Promise((r) => setTimeout(r, 20));
    }
    throw new InvalidOptionsError('every', `schedule '${row.key}' is busy firing; try again`);
  }

  private async tick(stored: ScheduleRow, record: JobRecord): Promise<Snooze | Snoozed | void> {
    let row = stored;
    if (row.declarative) {
      const current = this.registry.get(row.job);
      if (!current) {
        this.logger.warn(`Schedule '${row.key}': job '${row.job}' has no handler on this instance; the tick is left to one that has it.`);
        throw new Error(`no handler for scheduled job '${row.job}' here`);
      }
      if (!current.schedule) {
        this.logger.log(`Schedule '${row.key}' is no longer declared on @Job('${row.job}'); it stops.`);
        return;
      }
      row = { ...row, spec: current.schedule, missedTicks: current.missedTicks ?? 'run-once', queue: current.queue };
    }
    const tick = record.runAt.getTime();
    const now = await this.storage.now();
    const period = nextTick(row.spec, tick) - tick;
    const late = now - tick > Math.min(60_000, Math.max(1000, period / 2));
    const next = new Date(nextTick(row.spec, now));
    if (late && row.missedTicks === 'skip') {
      this.logger.log(`Schedule '${row.key}': tick ${new Date(tick).toISOString()} was missed; skipped.`);
      return new Snooze(next);
    }
    // The tick's job and the row's snooze commit together: a crash in between would leave the
    // row running with the job stored, and the rescued row would fire the tick again.
    if (record.lockedBy === null) throw new Error(`schedule row ${record.id} is not held by a worker`);
    const { held, result } = await this.client.enqueueWithSnooze(
      row.job,
      row.payload,
      { queue: row.queue, uniqueKey: `${row.key}:${tick}`, ...(row.headers ? { headers: row.headers } : {}) },
      { id: record.id, workerId: record.lockedBy, until: next },
    );
    if (held && !result) this.logger.log(`Schedule '${row.key}' was unscheduled while its tick ${new Date(tick).toISOString()} fired; it stops without it.`);
    return new Snoozed(held);
  }
}
