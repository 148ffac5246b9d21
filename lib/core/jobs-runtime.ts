import { Subject, type Observable } from 'rxjs';
import { JobNotFoundError } from '../errors/job-not-found.error.js';
import type { Clock } from './clock.js';
import type { EngineLogger, EngineSettings } from './engine-options.js';
import { Engine } from './engine.js';
import { HandlerRegistry } from './handler-registry.js';
import { JobClient } from './job-client.js';
import type { JobEvent } from './job-events.js';
import type { JobRecord } from './job-record.js';
import type { QueueStats, Storage } from './storage.js';

export interface RuntimeSettings extends EngineSettings {
  workers: boolean;
  maxPayloadBytes: number;
}

/**
 * One instance's jobs machinery, framework-free: the storage, the handler registry, the
 * producer and (when this instance runs workers) the engine. The Nest layer wires it up.
 */
export class JobsRuntime {
  readonly registry = new HandlerRegistry();
  readonly events = new Subject<JobEvent>();
  readonly client: JobClient;
  readonly engine: Engine | null;

  constructor(
    readonly storage: Storage,
    readonly settings: RuntimeSettings,
    private readonly logger: EngineLogger,
    readonly clock: Clock,
  ) {
    this.engine = settings.workers
      ? new Engine({ storage, registry: this.registry, settings, logger, events: this.events, clock })
      : null;
    this.client = new JobClient(
      storage,
      this.registry,
      { requireKnownJobs: settings.workers, maxPayloadBytes: settings.maxPayloadBytes, maxRetries: settings.maxRetries },
      this.events,
      clock,
      (queues) => {
        for (const q of queues) this.engine?.wake(q);
      },
    );
  }

  get events$(): Observable<JobEvent> {
    return this.events.asObservable();
  }

  start(): void {
    this.engine?.start();
  }

  /** Stops claiming and drains running jobs (shutdown, step one). */
  async stop(): Promise<void> {
    await this.engine?.stop();
  }

  /** Closes the storage (shutdown, step two). */
  async close(): Promise<void> {
    await this.storage.close();
    this.events.complete();
  }

  getJob(id: string): Promise<JobRecord | null> {
    return this.storage.get(String(id));
  }

  async cancel(id: string): Promise<JobRecord> {
    const job = await this.storage.cancel(String(id));
    if (!job) throw new JobNotFoundError(String(id));
    if (job.state === 'running') this.engine?.wake(job.queue);
    return job;
  }

  async retry(id: string): Promise<JobRecord> {
    const job = await this.storage.retry(String(id));
    if (!job) throw new JobNotFoundError(String(id));
    this.engine?.wake(job.queue);
    return job;
  }

  stats(): Promise<QueueStats[]> {
    return this.storage.stats();
  }

  /**
   * Resolves when nothing is due or running (in `queue`, or anywhere) and this instance
   * holds no unfinished work. Jobs waiting for a future `runAt` do not count.
   */
  async onIdle(queue?: string, pollMs = 10): Promise<void> {
    for (;;) {
      if (!this.engine || this.engine.isLocallyIdle(queue)) {
        const stats = await this.storage.stats();
        const busy = stats.some((s) => (queue === undefined || s.queue === queue) && (s.available > 0 || s.running > 0));
        if (!busy && (!this.engine || this.engine.isLocallyIdle(queue))) return;
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
}
