import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import type { JobContext } from '../../lib/core/job-context.js';
import type { JobRecord } from '../../lib/core/job-record.js';
import type { EnqueueingJob } from '../../lib/core/middleware.js';
import { JobsTracingMiddleware } from '../../lib/otel/index.js';

// Its own file: it registers the global SDK, which no other test of this process must see.
const job = (headers: Record<string, string>) => ({ id: '1', queue: 'q', name: 'n', attempt: 1, headers }) as unknown as JobRecord;
const enqueueing = (): EnqueueingJob => ({ name: 'n', queue: 'q', payload: {}, options: {}, headers: {} }) as unknown as EnqueueingJob;

describe('JobsTracingMiddleware and the global SDK', () => {
  it('without an SDK touches nothing, and traces once an SDK is registered after start-up', async () => {
    const tracing = new JobsTracingMiddleware({});
    const before = enqueueing();
    let ran = 0;
    await tracing.enqueue(before, () => Promise.resolve());
    expect(before.headers).toEqual({});
    expect(await tracing.process(job({}), {} as JobContext, () => Promise.resolve(++ran))).toBe(1);

    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
    try {
      const after = enqueueing();
      await tracing.enqueue(after, () => Promise.resolve());
      expect(after.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      await tracing.process(job(after.headers), {} as JobContext, () => Promise.resolve(++ran));
      const spans = exporter.getFinishedSpans();
      expect(spans.map((s) => s.name)).toEqual(['send q', 'process q']);
      expect(spans[1]!.spanContext().traceId).toBe(spans[0]!.spanContext().traceId);
    } finally {
      trace.disable();
      propagation.disable();
      context.disable();
      await provider.shutdown();
    }
  });
});
