import type { Observable } from 'rxjs';
import { JobFailedError } from '../errors/job-failed.error.js';
import { JobNotFoundError } from '../errors/job-not-found.error.js';
import { WaitTimeoutError } from '../errors/wait-timeout.error.js';
import type { JobEvent } from './job-events.js';
import type { Storage } from './storage.js';

const FINAL_EVENTS = new Set(['completed', 'dead', 'cancelled']);

/**
 * Waits for a job to finish on whichever instance runs it: reads the stored job, polling
 * with a growing interval (10 ms up to 500 ms), and re-reads at once when this instance
 * sees the job finish.
 */
export async function waitForJob(storage: Storage, events: Observable<JobEvent>, id: string, timeoutMs: number): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  let wake: (() => void) | null = null;
  const sub = events.subscribe((e) => {
    if (e.jobId === id && FINAL_EVENTS.has(e.type)) wake?.();
  });
  try {
    for (let interval = 10; ; interval = Math.min(500, interval * 2)) {
      const job = await storage.get(id);
      if (!job) throw new JobNotFoundError(id);
      if (job.state === 'completed') return job.result;
      if (job.state === 'dead' || job.state === 'cancelled') throw new JobFailedError(id, job.state, job.lastError);
      const left = deadline - Date.now();
      if (left <= 0) throw new WaitTimeoutError(id, timeoutMs, job.state);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(interval, left));
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = null;
    }
  } finally {
    sub.unsubscribe();
  }
}
