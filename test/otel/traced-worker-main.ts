/**
 * A worker app run as a child process by the cross-process tracing test: it registers its own
 * OpenTelemetry SDK pieces globally (as an app would), runs jobs from the SQLite file named in
 * JOBS_OTEL, and on 'stop' closes and sends the spans it recorded to its parent.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Backoff, Job, JobsModule, Processor, type JobContext } from '../../lib/index.js';
import { JobsTelemetryModule } from '../../lib/otel/index.js';

/** A finished span as the parent test reads it. */
export interface SpanRecord {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  status: { code: number; message?: string };
  attributes: Record<string, unknown>;
  events: string[];
}

const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

const { database } = JSON.parse(process.env.JOBS_OTEL ?? '{}') as { database: string };

@Processor({ queue: 'cross', maxRetries: 1, backoff: Backoff.fixed(1) })
class CrossProcessor {
  @Job('cross-flaky')
  run(_payload: unknown, ctx: JobContext) {
    trace.getTracer('app').startSpan('handler work').end();
    if (ctx.attempt === 1) throw new Error('fails once');
    return `ran in ${process.pid}`;
  }
}

@Module({
  imports: [
    JobsModule.forRoot({ storage: { type: 'sqlite', database }, pollIntervalMs: 20, logger: false }),
    JobsTelemetryModule.forRoot(),
  ],
  providers: [CrossProcessor],
})
class TracedWorkerModule {}

const app = await NestFactory.createApplicationContext(TracedWorkerModule, { logger: false });
process.on('message', (msg) => {
  if (msg !== 'stop') return;
  void app.close().then(() => {
    const spans: SpanRecord[] = exporter.getFinishedSpans().map((s) => ({
      name: s.name,
      kind: s.kind,
      traceId: s.spanContext().traceId,
      spanId: s.spanContext().spanId,
      parentSpanId: s.parentSpanContext?.spanId,
      status: s.status,
      attributes: { ...s.attributes },
      events: s.events.map((e) => e.name),
    }));
    process.send!({ spans }, () => process.exit(0));
  });
});
process.send!('ready');
