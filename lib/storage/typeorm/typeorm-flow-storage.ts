import type { BatchInfo, BatchResult, FlowIds, JobRecord, NewBatch, NewFlowNode, NewJob } from '../../core/job-record.js';
import type { EnqueueStorageOptions } from '../../core/storage.js';
import { flowLinks, type FlowLinks, type Settled } from './dialects/flow-links.js';
import type { Step } from './flow.js';
import { isJobId, toJobRecord } from './job-row.js';
import { TypeOrmConnection } from './typeorm-connection.js';
import { readBatch, storeBatch, storeFlow } from './typeorm-flows.js';
import { assertManagerOf } from './typeorm-options.js';

/**
 * Flows and batches on TypeORM: storing them (`typeorm-flows.ts`), reading them, and the
 * bookkeeping every finishing transition of `TypeOrmStorage` runs in its own transaction
 * (`dialects/flow-links.ts`), with the signals it gives after the commit.
 */
export abstract class TypeOrmFlowStorage extends TypeOrmConnection {
  private linksOf: FlowLinks | undefined;

  /** Flows (see `dialects/flow-links.ts`); built on first use, once the dialect is known. */
  protected get links(): FlowLinks {
    return (this.linksOf ??= flowLinks(this.dialect));
  }

  /**
   * Runs a finishing transition whose flow bookkeeping reports what it did to parents; the
   * signals go out after the commit (a worker woken earlier would find the parent still waiting).
   */
  protected async settling<T>(write: (done: (s: Settled) => void) => Promise<T>): Promise<T> {
    const got: Settled[] = [];
    const value = await write((s) => got.push(s));
    for (const s of got) {
      for (const queue of new Set(s.woken)) this.signals.wake(queue);
      for (const id of s.cancelRequested) this.signals.cancelled(id);
    }
    return value;
  }

  /** In the caller's transaction (`manager`), else in one of its own; wakes `queues` after its commit. */
  private async inTransaction<T>(manager: unknown, work: (run: <R>(s: Step<R>) => Promise<R>) => Promise<T>, queues: (value: T) => string[]): Promise<T> {
    const m = manager === undefined || manager === null ? null : assertManagerOf(this.dataSource, manager);
    const value = m ? await work((s) => this.exec().runOn(m, s)) : await this.exec().transaction((_m, run) => work(run));
    this.wrote();
    if (!m) for (const queue of new Set(queues(value))) this.signals.wake(queue);
    return value;
  }

  /** See `Storage.enqueueFlow` and `typeorm-flows.ts`. */
  async enqueueFlow(root: NewFlowNode, options: EnqueueStorageOptions = {}): Promise<FlowIds> {
    const stored = await this.inTransaction(options.manager, (run) => storeFlow(root, this.dialect, this.links, run), (v) => v.leafQueues);
    return stored.ids;
  }

  /** See `Storage.enqueueBatch` and `typeorm-flows.ts`. */
  async enqueueBatch(jobs: NewJob[], batch: NewBatch, options: EnqueueStorageOptions = {}): Promise<BatchResult> {
    return this.inTransaction(options.manager, (run) => storeBatch(jobs, batch, this.dialect, this.links, run), () => jobs.map((j) => j.queue));
  }

  async getBatch(id: string): Promise<BatchInfo | null> {
    const key = String(id);
    return isJobId(key) ? readBatch(key, this.links, (s) => this.run(s)) : null;
  }

  async children(parentId: string): Promise<JobRecord[]> {
    const key = String(parentId);
    if (!isJobId(key)) return [];
    return (await this.run(this.links.children(key))).map(toJobRecord);
  }
}
