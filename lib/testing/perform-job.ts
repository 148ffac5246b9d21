import type { FakeClock } from '../core/fake-clock.js';
import { headersJson, parseHeaders, type JobHeaders } from '../core/headers.js';
import { abortRun, newRun, RunContext, type ProgressSink } from '../core/job-run.js';
import type { JobRecord } from '../core/job-record.js';
import { jobNameOf, type JobToken } from '../core/job-token.js';
import type { JobsRuntime } from '../core/jobs-runtime.js';
import { assertKnownKeys, knownKeys } from '../core/known-keys.js';
import { validateWithSchema } from '../core/schema.js';
import { assertInt } from '../core/validation.js';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { JobTimeoutError } from '../errors/job-timeout.error.js';
import { UnknownJobError } from '../errors/unknown-job.error.js';

export interface PerformOptions {
  /** `ctx.attempt`; default 1. */
  attempt?: number;
  /**
   * The headers the job would carry: checked with the limits of `enqueue` and read by the
   * handler as `ctx.headers` (the job's middleware do not run: `perform` calls the handler alone).
   */
  headers?: Record<string, string>;
}

const PERFORM_KEYS = knownKeys<PerformOptions>({ attempt: true, headers: true });

/** `ctx.progress()` in a direct run: checked as a worker checks it, stored nowhere. */
const noProgress: ProgressSink = {
  reportProgress(_record, percent) {
    if (typeof percent !== 'number' || !Number.isFinite(percent)) {
      return Promise.reject(new TypeError(`ctx.progress() takes a number from 0 to 100, got ${String(percent)}`));
    }
    return Promise.resolve();
  },
  /** A direct run stores no job: it has no children. */
  childrenOf() {
    return Promise.resolve([]);
  },
};

let performed = 0;

/**
 * Runs one handler directly, as a worker would run it, with nothing stored: the payload is
 * checked as `enqueue` checks it (schema, JSON, size) and delivered as the stored job would
 * deliver it (through JSON); `ctx` is a real context (its signal aborts on the handler's
 * timeout, on the fake clock). Resolves with the handler's value or rejects with its error.
 */
export async function performJob(
  runtime: JobsRuntime,
  clock: FakeClock,
  job: string | JobToken<unknown>,
  payload: unknown,
  options: PerformOptions = {},
): Promise<unknown> {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('perform options', 'expected an object');
  assertKnownKeys(options, PERFORM_KEYS, 'perform options');
  const name = jobNameOf(job);
  const def = runtime.registry.get(name);
  if (!def || def.internal) throw new UnknownJobError(String(name), runtime.registry.names());
  const attempt = options.attempt === undefined ? 1 : assertInt('attempt', options.attempt, 1, 2 ** 31 - 1);
  const headers = options.headers === undefined ? {} : parseHeaders(headersJson('headers', options.headers));
  await runtime.client.validate(job, payload);
  const schema = (typeof job === 'object' ? job.schema : undefined) ?? def.schema;
  const value = schema ? await validateWithSchema(schema, name, payload) : payload;
  const maxAttempts = (def.maxRetries ?? runtime.settings.maxRetries).maxAttempts;
  const record = recordOf(name, def.queue, JSON.parse(JSON.stringify(value ?? null)) as unknown, attempt, maxAttempts, clock.now(), headers);
  const run = newRun(record, true);
  const timeoutMs = def.timeoutMs ?? runtime.settings.timeoutMs;
  if (timeoutMs) run.timer = clock.setTimeout(() => abortRun(run, new JobTimeoutError(name, timeoutMs)), timeoutMs);
  const ctx = new RunContext(run, noProgress);
  try {
    return await def.handler(record.payload, ctx, record);
  } finally {
    if (run.timer) clock.clearTimeout(run.timer);
  }
}

/** The record a handler's third argument and `ctx` are built from: a job that exists only for this run. */
function recordOf(
  name: string, queue: string, payload: unknown, attempt: number, maxAttempts: number | null, now: number, headers: JobHeaders,
): JobRecord {
  const at = new Date(now);
  return {
    id: `perform-${++performed}`, queue, name, payload, state: 'running', priority: 0, attempt, maxAttempts,
    runAt: at, createdAt: at, startedAt: at, completedAt: null, failedAt: null, lockedBy: null, lockedUntil: null,
    lastError: null, uniqueKey: null, group: null, backoff: null, timeoutMs: null, progress: null, progressData: null, result: null,
    cancelRequested: false, interruptions: 0, prefetched: false, rescuedUnstarted: false, headers,
  };
}
