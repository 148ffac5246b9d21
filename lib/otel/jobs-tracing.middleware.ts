import { Inject, Injectable } from '@nestjs/common';
import {
  context,
  isSpanContextValid,
  propagation,
  ProxyTracerProvider,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import type { JobContext } from '../core/job-context.js';
import type { JobRecord } from '../core/job-record.js';
import type { EnqueueingJob, JobMiddleware } from '../core/middleware.js';
import { GlobalJobMiddleware } from '../nest/decorators/global-job-middleware.decorator.js';
import { JOBS_TELEMETRY_OPTIONS, type JobsTelemetryOptions } from './jobs-telemetry.options.js';

/** `messaging.system` of every span, and the default tracer name. */
export const MESSAGING_SYSTEM = 'nestjs-background-jobs';

/**
 * Traces jobs with the OpenTelemetry API, after its messaging conventions: a PRODUCER span
 * `send <queue>` around each enqueue, whose context goes into the job's headers through the
 * app's propagator (W3C `traceparent`/`tracestate` with the SDK's defaults); a CONSUMER span
 * `process <queue>` around each attempt, child of that stored context, so an enqueue and its
 * runs form one trace across processes, and active while the handler runs, so the handler's
 * own spans are its children. Without an SDK the API is a no-op and so is this.
 */
@GlobalJobMiddleware()
@Injectable()
export class JobsTracingMiddleware implements JobMiddleware {
  readonly name = 'JobsTracingMiddleware';
  private readonly tracer: Tracer;
  private readonly byQueue = new Map<string, Attributes>();
  private readonly provider: TracerProvider;
  private readonly tracerName: string;
  /** An SDK's provider is behind the API (given, or seen registered): spans may record. */
  private sdk: boolean;

  constructor(@Inject(JOBS_TELEMETRY_OPTIONS) options: JobsTelemetryOptions) {
    this.provider = options.tracerProvider ?? trace.getTracerProvider();
    this.tracerName = options.tracerName ?? MESSAGING_SYSTEM;
    this.tracer = this.provider.getTracer(this.tracerName);
    this.sdk = !(this.provider instanceof ProxyTracerProvider);
  }

  /**
   * Whether no SDK is registered yet: the global provider is the API's proxy with no delegate,
   * so every span would be a no-op and no propagator is set. Then a job skips the API calls
   * altogether (about a microsecond and a half of CPU per job otherwise). Checked at each job
   * until an SDK shows up (an app may register it after start-up); a registered provider stays.
   */
  private noSdk(): boolean {
    if (this.sdk) return false;
    if ((this.provider as ProxyTracerProvider).getDelegateTracer(this.tracerName) === undefined) return true;
    this.sdk = true;
    return false;
  }

  async enqueue(job: EnqueueingJob, next: () => Promise<void>): Promise<void> {
    if (this.noSdk()) return next();
    const span = this.tracer.startSpan(`send ${job.queue}`, { kind: SpanKind.PRODUCER, attributes: this.attributes(job.queue, 'send') });
    // Neither recorded nor carrying a trace (no SDK, or nothing sampled and no parent): nothing to store.
    if (inert(span)) return next();
    if (span.isRecording()) span.setAttribute('job.name', job.name);
    const active = trace.setSpan(context.active(), span);
    propagation.inject(active, job.headers);
    try {
      await context.with(active, next);
      // The id exists once the job is stored.
      if (job.id !== undefined) span.setAttribute('messaging.message.id', job.id);
    } catch (err) {
      failed(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  process(job: JobRecord, _ctx: JobContext, next: () => Promise<unknown>): Promise<unknown> {
    if (this.noSdk()) return next();
    const parent = propagation.extract(context.active(), job.headers ?? {});
    const span = this.tracer.startSpan(`process ${job.queue}`, { kind: SpanKind.CONSUMER, attributes: this.attributes(job.queue, 'process') }, parent);
    if (inert(span)) return next();
    if (span.isRecording()) span.setAttributes({ 'messaging.message.id': job.id, 'job.name': job.name, 'job.attempt': job.attempt });
    return context.with(trace.setSpan(parent, span), next).then(
      (value) => {
        span.end();
        return value;
      },
      (err: unknown) => {
        failed(span, err);
        span.end();
        throw err;
      },
    );
  }

  /**
   * The attributes a span starts with (those a sampler may read), one object per queue and
   * operation: spans copy them, and a job whose span is not recorded allocates none.
   */
  private attributes(queue: string, operation: 'send' | 'process'): Attributes {
    const key = `${operation} ${queue}`;
    let attrs = this.byQueue.get(key);
    if (!attrs) {
      attrs = Object.freeze({ 'messaging.system': MESSAGING_SYSTEM, 'messaging.destination.name': queue, 'messaging.operation.type': operation });
      this.byQueue.set(key, attrs);
    }
    return attrs;
  }
}

/** A span that records nothing and carries no valid context: activating it would change nothing. */
function inert(span: Span): boolean {
  return !span.isRecording() && !isSpanContextValid(span.spanContext());
}

function failed(span: Span, err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err));
  span.recordException(error);
  span.setAttribute('error.type', error.name);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}
