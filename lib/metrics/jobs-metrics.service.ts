import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Gauge, type Registry } from 'prom-client';
import type { Subscription } from 'rxjs';
import type { JobEvent } from '../core/job-events.js';
import { QueueService } from '../nest/queue.service.js';
import { LocalCounter, LocalHistogram } from './local-metrics.js';
import { JOBS_METRICS_OPTIONS, type ResolvedMetricsOptions } from './metrics-options.js';
import { CachedQueueSnapshot } from './queue-snapshot.js';

/** How long one storage read serves the queue gauges: scrapes within it cost no query. */
export const QUEUE_GAUGES_CACHE_MS = 5_000;

/** Handler times, from a few milliseconds to an hour. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
/** Waits from due to start, from immediate to a backlog of hours. */
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14400];

const STATES = ['available', 'scheduled', 'running', 'dead'] as const;

/** The outcome label of a job event that ends an attempt on this instance. */
const OUTCOMES: Partial<Record<JobEvent['type'], 'completed' | 'retried' | 'dead' | 'cancelled'>> = {
  completed: 'completed',
  retrying: 'retried',
  dead: 'dead',
  cancelled: 'cancelled',
};

/**
 * Prometheus metrics of the jobs: counters and histograms from this instance's job events,
 * gauges read at scrape time (the queues' state from the storage, cluster-wide; the handlers
 * running on this instance). Labels are queue, job name, outcome and state: never ids.
 */
@Injectable()
export class JobsMetrics implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('JobsMetrics');
  private readonly registry: Registry;
  private readonly names: string[] = [];
  private subscription: Subscription | null = null;
  private readonly snapshot: CachedQueueSnapshot;

  constructor(
    private readonly queue: QueueService,
    @Inject(JOBS_METRICS_OPTIONS) private readonly options: ResolvedMetricsOptions,
  ) {
    this.registry = options.registry;
    this.snapshot = new CachedQueueSnapshot(queue, QUEUE_GAUGES_CACHE_MS);
  }

  onModuleInit(): void {
    const p = this.options.prefix;
    this.claimNames([
      `${p}enqueued_total`, `${p}finished_total`, `${p}duration_seconds`, `${p}wait_seconds`,
      `${p}queue_jobs`, `${p}queue_oldest_age_seconds`, `${p}active`,
    ]);
    const registers = [this.registry];
    const enqueued = new LocalCounter(`${p}enqueued_total`, 'Jobs stored by this instance (duplicates of a waiting unique job not counted).').register(this.registry);
    const finished = new LocalCounter(`${p}finished_total`, 'Attempts run on this instance, by outcome: completed, retried, dead, cancelled.').register(this.registry);
    const duration = new LocalHistogram(`${p}duration_seconds`, 'Handler time of attempts run on this instance, by outcome.', DURATION_BUCKETS).register(this.registry);
    const wait = new LocalHistogram(`${p}wait_seconds`, 'Time from when a job fell due to when its handler started on this instance.', WAIT_BUCKETS).register(this.registry);
    this.queueGauges(p, registers);
    this.subscription = this.queue.events$.subscribe((e) => {
      if (e.type === 'enqueued') {
        if (!e.duplicate) enqueued.inc(e.queue, e.name);
      } else if (e.type === 'started') {
        if (e.waitMs !== undefined) wait.observe(e.waitMs / 1000, e.queue, e.name);
      } else {
        const outcome = OUTCOMES[e.type];
        if (!outcome) return;
        finished.inc(e.queue, e.name, outcome);
        if (e.durationMs !== undefined) duration.observe(e.durationMs / 1000, e.queue, e.name, outcome);
      }
    });
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
    this.subscription = null;
    for (const name of this.names.splice(0)) this.registry.removeSingleMetric(name);
  }

  /** The gauges that read at scrape time. A storage that does not answer leaves the queue gauges out of that scrape (logged), never the scrape. */
  private queueGauges(p: string, registers: Registry[]): void {
    const { snapshot, logger, queue } = this;
    const read = () =>
      snapshot.read().catch((err: unknown) => {
        logger.warn(`Queue gauges left out of this scrape: the job storage did not answer: ${err instanceof Error ? err.message : String(err)}`);
        return null;
      });
    new Gauge({
      name: `${p}queue_jobs`,
      help: 'Jobs per queue and state (available, scheduled, running, dead), cluster-wide, from the storage.',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        const s = await read();
        this.reset();
        for (const q of s?.stats ?? []) for (const state of STATES) this.set({ queue: q.queue, state }, q[state]);
      },
    });
    new Gauge({
      name: `${p}queue_oldest_age_seconds`,
      help: 'Age of the oldest available job per queue (since it fell due), cluster-wide; 0 when none waits.',
      labelNames: ['queue'],
      registers,
      async collect() {
        const s = await read();
        this.reset();
        if (!s) return;
        const ages = new Map(s.oldest.map((o) => [o.queue, o.ageMs / 1000]));
        for (const q of s.stats) this.set({ queue: q.queue }, ages.get(q.queue) ?? 0);
      },
    });
    new Gauge({
      name: `${p}active`,
      help: 'Handlers running now on this instance, per queue.',
      labelNames: ['queue'],
      registers,
      collect() {
        this.reset();
        for (const [name, q] of Object.entries(queue.workerStatus().queues)) this.set({ queue: name }, q.active);
      },
    });
  }

  /** Refuses names already in the registry with a message that says what to change. */
  private claimNames(names: string[]): void {
    for (const name of names) {
      if (this.registry.getSingleMetric(name)) {
        throw new Error(
          `The metric '${name}' is already registered in this prom-client registry (JobsMetricsModule imported twice, or another app in this process uses the same registry): give JobsMetricsModule.forRoot() its own registry or another prefix.`,
        );
      }
    }
    this.names.push(...names);
  }
}
