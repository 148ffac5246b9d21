import type { JobExecutor } from './job-executor.js';
import type { JobRecord } from './job-record.js';
import type { HandoffSlot } from './local-workers.js';

/** What the hand-offs need of their runner. */
export interface HandoffHost {
  readonly stopping: boolean;
  /** Runs a job stored already claimed by this worker. */
  startJob(job: JobRecord): void;
  kick(): void;
}

/**
 * Slots held for local hand-offs (see `LocalWorkers.reserve`): a job this instance is
 * storing already claimed, to start here once its write returns.
 */
export class HandoffSlots {
  /** Hand-offs whose write has not returned yet, and their ends. */
  private readonly reservations = new Set<Promise<void>>();

  constructor(
    private readonly executor: JobExecutor,
    private readonly host: HandoffHost,
  ) {}

  /** Slots held by hand-offs being written. */
  get size(): number {
    return this.reservations.size;
  }

  /** The hand-offs in flight (shutdown waits for them). */
  pending(): Promise<void>[] {
    return [...this.reservations];
  }

  /** Holds a slot until the job is started in it or the slot is given back. */
  reserve(): HandoffSlot {
    let end!: () => void;
    const done = new Promise<void>((resolve) => (end = resolve));
    this.reservations.add(done);
    let open = true;
    const close = () => {
      open = false;
      this.reservations.delete(done);
      end();
    };
    return {
      start: (record) => {
        if (!open) return;
        if (this.host.stopping) {
          // Shutdown began while the job was being written: hand it back (no attempt counted).
          void this.executor.handBack(record).finally(close);
          return;
        }
        close();
        this.host.startJob(record);
      },
      cancel: () => {
        if (!open) return;
        close();
        this.host.kick();
      },
    };
  }
}
