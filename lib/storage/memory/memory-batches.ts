import type { Subject } from 'rxjs';
import {
  callbackJob,
  dueCallbacks,
  type BatchCounts,
  type BatchInfo,
  type BatchResult,
  type JobRecord,
  type JobState,
  type NewBatch,
  type NewJob,
} from '../../core/job-record.js';

interface StoredBatch extends NewBatch {
  counts: BatchCounts;
  fired: { complete: boolean; success: boolean; failure: boolean };
}

const finished = new Set<JobState>(['completed', 'dead', 'cancelled']);

/**
 * Batches in memory: counts per batch, updated by every finishing transition in the same
 * synchronous step (`finished(job)`), and each callback stored once, when it first falls due.
 */
export class MemoryBatches {
  private readonly batches = new Map<string, StoredBatch>();
  /** Jobs counted already (a job is counted once, at its first finish). */
  private readonly counted = new Set<string>();
  private nextId = 1;

  constructor(
    private readonly jobs: Map<string, JobRecord>,
    private readonly insert: (jobs: NewJob[]) => Array<{ id: string }>,
    private readonly wake$: Subject<string>,
  ) {}

  store(jobs: NewJob[], batch: NewBatch): BatchResult {
    const batchId = String(this.nextId++);
    this.batches.set(batchId, { ...batch, counts: { total: jobs.length, completed: 0, dead: 0, cancelled: 0 }, fired: { complete: false, success: false, failure: false } });
    const ids = this.insert(jobs).map((r) => r.id);
    for (const id of ids) this.jobs.get(id)!.batchId = batchId;
    return { batchId, ids };
  }

  finished(job: JobRecord): void {
    if (!job.batchId || !finished.has(job.state) || this.counted.has(job.id)) return;
    const batch = this.batches.get(job.batchId);
    if (!batch) return;
    this.counted.add(job.id);
    batch.counts[job.state as 'completed' | 'dead' | 'cancelled']++;
    const due = dueCallbacks(batch.counts);
    for (const which of ['failure', 'success', 'complete'] as const) {
      const template = batch.callbacks[which];
      if (!template || !due[which] || batch.fired[which]) continue;
      batch.fired[which] = true;
      this.insert([callbackJob(template, job.batchId, batch.payload, { ...batch.counts })]);
      this.wake$.next(template.queue);
    }
  }

  get(id: string): BatchInfo | null {
    const batch = this.batches.get(String(id));
    if (!batch) return null;
    const states: Partial<Record<JobState, number>> = {};
    for (const job of this.jobs.values()) if (job.batchId === String(id)) states[job.state] = (states[job.state] ?? 0) + 1;
    return { id: String(id), payload: JSON.parse(batch.payload) as unknown, counts: { ...batch.counts }, states, fired: { ...batch.fired } };
  }
}
