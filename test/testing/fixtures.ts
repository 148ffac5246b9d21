import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { Backoff, defineJob, Job, MaxRetries, Processor, QueueService, type JobContext } from '../../lib/index.js';

/** Jobs and processors the testing module's own tests run. */
export const Greet = defineJob<{ name: string; tags?: string[] }>('greet', { schema: z.object({ name: z.string().min(1), tags: z.array(z.string()).optional() }) });
export const Flaky = defineJob<{ failures: number }>('flaky');
export const Doomed = defineJob<{ why: string }>('doomed');
export const Parent = defineJob<{ children: number }>('parent');
export const Child = defineJob<{ n: number }>('child');
export const Report = defineJob<{ day: string }>('report');

export class SmtpError extends Error {
  override name = 'SmtpError';
}

/** A provider the processors use: its state is what a test looks at. */
@Injectable()
export class Outbox {
  readonly greeted: string[] = [];
  readonly children: number[] = [];
  readonly reports: string[] = [];
  readonly attempts: number[] = [];
}

@Processor({ queue: 'mail', maxRetries: MaxRetries.count(3), backoff: Backoff.fixed(60_000) })
export class MailProcessor {
  constructor(private readonly outbox: Outbox, private readonly queue: QueueService) {}

  @Job(Greet)
  greet(payload: { name: string }, ctx: JobContext): { greeted: string; attempt: number } {
    this.outbox.greeted.push(payload.name);
    return { greeted: payload.name, attempt: ctx.attempt };
  }

  /** Fails its first `failures` attempts. */
  @Job(Flaky)
  flaky(payload: { failures: number }, ctx: JobContext): string {
    this.outbox.attempts.push(ctx.attempt);
    if (ctx.attempt <= payload.failures) throw new SmtpError(`attempt ${ctx.attempt} failed`);
    return 'sent';
  }

  @Job(Doomed, { maxRetries: 2 })
  doomed(payload: { why: string }): never {
    throw new SmtpError(payload.why);
  }

  @Job(Parent)
  async parent(payload: { children: number }): Promise<void> {
    for (let n = 1; n <= payload.children; n++) await this.queue.enqueue(Child, { n });
  }

  @Job(Child)
  child(payload: { n: number }): void {
    this.outbox.children.push(payload.n);
  }
}

@Processor('reports')
export class ReportProcessor {
  constructor(private readonly outbox: Outbox) {}

  @Job(Report)
  report(payload: { day: string }): void {
    this.outbox.reports.push(payload.day);
  }
}

export const PROVIDERS = [Outbox, MailProcessor, ReportProcessor];
