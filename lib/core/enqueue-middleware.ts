import type { EnqueueOptions } from './enqueue-options.js';
import { headersJson, parseHeaders } from './headers.js';
import type { EnqueueResult, NewJob } from './job-record.js';
import { runChain, type EnqueueingJob, type MiddlewareChain } from './middleware.js';

/** One job of a write, as the enqueue middleware see it. */
class PendingJob implements EnqueueingJob {
  readonly name: string;
  readonly queue: string;
  headers: Record<string, string>;
  id: string | undefined = undefined;
  #payload: unknown = undefined;
  #parsed = false;

  constructor(
    private readonly job: NewJob,
    readonly options: Readonly<Omit<EnqueueOptions, 'manager'>>,
  ) {
    this.name = job.name;
    this.queue = job.queue;
    this.headers = parseHeaders(job.headers);
  }

  /** Parsed from the stored JSON text when first read: a copy, so nothing a middleware changes is stored. */
  get payload(): unknown {
    if (!this.#parsed) {
      this.#payload = JSON.parse(this.job.payload) as unknown;
      this.#parsed = true;
    }
    return this.#payload;
  }
}

/**
 * Runs the enqueue middleware of each job of one write, then the write itself, once. Every
 * job's chain runs up to its innermost `next()`; only when all have got there are the headers
 * they set checked and stored on the jobs, and `write` runs (one round trip for the batch, as
 * without middleware). Their `next()` calls then resolve (ids set), or reject with the write's
 * error. A chain that throws before `next()` (or a header that fails its check) fails the
 * whole write: nothing is stored. An error a middleware raises after the write succeeded
 * cannot unstore the jobs: it goes to `onLateError` and the results are returned.
 * `write` resolving null: nothing was stored (a snooze whose lease was lost).
 */
export async function enqueueThrough(
  chain: MiddlewareChain,
  jobs: NewJob[],
  optionsOf: (i: number) => Readonly<Omit<EnqueueOptions, 'manager'>>,
  write: () => Promise<EnqueueResult[] | null>,
  onLateError: (err: unknown) => void,
): Promise<EnqueueResult[] | null> {
  const pending = jobs.map((job, i) => new PendingJob(job, optionsOf(i)));
  let arrived = 0;
  let allArrived!: () => void;
  let failed!: (err: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    allArrived = resolve;
    failed = reject;
  });
  let stored!: () => void;
  let notStored!: (err: unknown) => void;
  const written = new Promise<void>((resolve, reject) => {
    stored = resolve;
    notStored = reject;
  });
  written.catch(() => undefined);
  const chains = pending.map((job) =>
    runChain(chain.enqueueHooks, 'enqueue', job, undefined, () => {
      if (++arrived === pending.length) allArrived();
      return written;
    }),
  );
  for (const c of chains) c.catch(failed);
  let results: EnqueueResult[] | null;
  try {
    await ready;
    pending.forEach((job, i) => (jobs[i]!.headers = headersJson(`headers of '${job.name}' (after middleware)`, job.headers)));
    results = await write();
  } catch (err) {
    notStored(err);
    await Promise.allSettled(chains);
    throw err;
  }
  if (results) results.forEach((r, i) => (pending[i]!.id = r.id));
  stored();
  for (const outcome of await Promise.allSettled(chains)) if (outcome.status === 'rejected') onLateError(outcome.reason);
  return results;
}
