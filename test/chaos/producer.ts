import type { NewJob } from '../../lib/index.js';
import type { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { sleep } from '../support/databases.js';
import { CHAOS_QUEUE, jobName, type ChaosPayload, type JobKind } from './chaos-protocol.js';
import type { Random } from './chaos-env.js';

export interface PlannedJob {
  seq: number;
  kind: JobKind;
  ms: number;
}

/** Share of each kind (any scale) and the handler's duration range per kind, in ms. */
export interface JobMix {
  weights: Partial<Record<JobKind, number>>;
  ms: Partial<Record<JobKind, [number, number]>>;
}

/** Short jobs (20–200 ms: enough of them in flight that a kill catches some mid-run). */
export const SHORT_JOBS: JobMix = {
  weights: { plain: 6, flaky: 2, tx: 2 },
  ms: { plain: [20, 200], flaky: [20, 200], tx: [10, 100] },
};

/** The whole scenario's jobs, drawn from the seed: the same seed, the same jobs. */
export function planJobs(count: number, mix: JobMix, rnd: Random): PlannedJob[] {
  const kinds = Object.entries(mix.weights) as [JobKind, number][];
  const total = kinds.reduce((n, [, w]) => n + w, 0);
  return Array.from({ length: count }, (_, seq) => {
    let x = rnd.next() * total;
    const kind = kinds.find(([, w]) => (x -= w) < 0)?.[0] ?? kinds[0]![0];
    const [lo, hi] = mix.ms[kind] ?? [5, 50];
    return { seq, kind, ms: rnd.int(lo, hi) };
  });
}

/**
 * Enqueues the planned jobs through the storage, spread over `spreadMs` (so the chaos meets
 * jobs all along) and never more than `maxBacklog` waiting (so a rescued job, which goes to
 * the back of the queue, waits behind a short queue only). A failed enqueue (the
 * database restarting, a connection cut) is retried, as an application would; when its
 * INSERT had committed before the error, the job exists twice (the verdict counts those).
 */
export class Producer {
  /** Enqueue calls that threw and were retried. */
  failedCalls = 0;
  enqueued = 0;
  done = false;

  constructor(
    private readonly storage: TypeOrmStorage,
    readonly jobs: PlannedJob[],
    private readonly options: { spreadMs: number; maxBacklog: number; maxAttempts: number; batch?: number },
  ) {}

  async run(): Promise<void> {
    const started = Date.now();
    const batch = this.options.batch ?? 50;
    while (this.enqueued < this.jobs.length) {
      const due = Math.ceil((this.jobs.length * (Date.now() - started)) / Math.max(1, this.options.spreadMs));
      const room = this.options.maxBacklog - (await this.backlog());
      const n = Math.min(batch, due - this.enqueued, room, this.jobs.length - this.enqueued);
      if (n <= 0) {
        await sleep(25);
        continue;
      }
      const chunk = this.jobs.slice(this.enqueued, this.enqueued + n);
      try {
        await this.storage.enqueue(chunk.map((j) => this.toNewJob(j)));
        this.enqueued += n;
      } catch {
        this.failedCalls++;
        await sleep(200);
      }
    }
    this.done = true;
  }

  private async backlog(): Promise<number> {
    try {
      const s = (await this.storage.stats()).find((q) => q.queue === CHAOS_QUEUE);
      return s ? s.available + s.scheduled : 0;
    } catch {
      return 0; // the database is away: try the enqueue anyway, as an application would, and retry it
    }
  }

  private toNewJob(job: PlannedJob): NewJob {
    const payload: ChaosPayload = { seq: job.seq, ms: job.ms };
    return { queue: CHAOS_QUEUE, name: jobName(job.kind), payload: JSON.stringify(payload), priority: 0, maxAttempts: this.options.maxAttempts };
  }
}
