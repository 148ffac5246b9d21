import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Backoff, Job, JobsModule, Processor, QueueService, type JobContext } from '../../lib/index.js';
import { JobsTelemetryModule } from '../../lib/otel/index.js';
import { FAST, openTarget, until, type FeatureTarget } from '../support/feature-targets.js';

/** One app instance's own tracer provider, exporting to memory: as a separate process would have. */
function tracing() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { exporter, provider, spans: () => exporter.getFinishedSpans() };
}

const worker = tracing();
const producer = tracing();
let flakyRuns = 0;

@Processor({ queue: 'traced', maxRetries: 1, backoff: Backoff.fixed(1) })
class TracedProcessor {
  @Job('work')
  work(_payload: unknown, ctx: JobContext) {
    // A span the handler starts: a child of the consumer span, which is active here.
    worker.provider.getTracer('app').startSpan('handler work', { attributes: { attempt: ctx.attempt } }).end();
    return 'done';
  }

  @Job('flaky')
  flaky() {
    if (++flakyRuns === 1) throw new TypeError('first attempt fails');
    return 'second time lucky';
  }
}

async function start(target: FeatureTarget, provider: BasicTracerProvider, workers: boolean): Promise<INestApplication> {
  const mod = await Test.createTestingModule({
    imports: [
      JobsModule.forRoot({ storage: target.storage(), ...FAST, workers }),
      JobsTelemetryModule.forRoot({ tracerProvider: provider }),
    ],
    providers: workers ? [TracedProcessor] : [],
  }).compile();
  const app = mod.createNestApplication({ logger: false });
  await app.init();
  return app;
}

const byName = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);

describe('OpenTelemetry traces across two app instances on one SQLite database', () => {
  let target: FeatureTarget;
  const apps: INestApplication[] = [];

  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });
  afterAll(() => {
    context.disable();
    propagation.disable();
  });
  beforeEach(async () => {
    target = await openTarget('sqlite');
    worker.exporter.reset();
    producer.exporter.reset();
    flakyRuns = 0;
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await target.cleanup();
  });

  it('the PRODUCER span of the enqueue and the CONSUMER span of its run share one trace; handler spans are children of the consumer', async () => {
    const api = await start(target, producer.provider, false);
    apps.push(api, await start(target, worker.provider, true));
    const request = producer.provider.getTracer('http').startSpan('POST /work');
    const { id } = await context.with(trace.setSpan(context.active(), request), () => api.get(QueueService).enqueue('work', {}, { queue: 'traced' }));
    request.end();
    expect(await api.get(QueueService).waitFor(id, { timeoutMs: 15_000 })).toBe('done');
    await until(() => byName(worker.spans(), 'process traced').length === 1, 5000, 'the consumer span');

    const [send] = byName(producer.spans(), 'send traced');
    const [process] = byName(worker.spans(), 'process traced');
    const [handler] = byName(worker.spans(), 'handler work');
    expect(send!.kind).toBe(SpanKind.PRODUCER);
    expect(send!.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(send!.attributes).toEqual({
      'messaging.system': 'nestjs-background-jobs',
      'messaging.destination.name': 'traced',
      'messaging.operation.type': 'send',
      'messaging.message.id': id,
      'job.name': 'work',
    });
    expect(process!.kind).toBe(SpanKind.CONSUMER);
    expect(process!.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(process!.parentSpanContext?.spanId).toBe(send!.spanContext().spanId);
    expect(process!.attributes).toEqual({
      'messaging.system': 'nestjs-background-jobs',
      'messaging.destination.name': 'traced',
      'messaging.operation.type': 'process',
      'messaging.message.id': id,
      'job.name': 'work',
      'job.attempt': 1,
    });
    expect(process!.status.code).toBe(SpanStatusCode.UNSET);
    expect(handler!.parentSpanContext?.spanId).toBe(process!.spanContext().spanId);
    expect(handler!.spanContext().traceId).toBe(request.spanContext().traceId);
    // The trace context travelled in the job's headers.
    const headers = (await api.get(QueueService).getJob(id))!.headers;
    expect(headers.traceparent).toBe(`00-${send!.spanContext().traceId}-${send!.spanContext().spanId}-01`);
  });

  it('a failed attempt records the exception and an error status; its retry is a second consumer span in the same trace', async () => {
    const api = await start(target, producer.provider, false);
    apps.push(api, await start(target, worker.provider, true));
    const { id } = await api.get(QueueService).enqueue('flaky', {}, { queue: 'traced' });
    expect(await api.get(QueueService).waitFor(id, { timeoutMs: 15_000 })).toBe('second time lucky');
    await until(() => byName(worker.spans(), 'process traced').length === 2, 5000, 'two consumer spans');

    const [send] = byName(producer.spans(), 'send traced');
    const [first, second] = byName(worker.spans(), 'process traced').sort((a, b) => Number(a.attributes['job.attempt']) - Number(b.attributes['job.attempt']));
    for (const span of [first!, second!]) {
      expect(span.spanContext().traceId).toBe(send!.spanContext().traceId);
      expect(span.parentSpanContext?.spanId).toBe(send!.spanContext().spanId);
    }
    expect(first!.attributes['job.attempt']).toBe(1);
    expect(first!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'first attempt fails' });
    expect(first!.attributes['error.type']).toBe('TypeError');
    expect(first!.events.map((e) => [e.name, e.attributes?.['exception.message']])).toEqual([['exception', 'first attempt fails']]);
    expect(second!.attributes['job.attempt']).toBe(2);
    expect(second!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('an enqueue that fails after the producer span started records the error on it, and stores nothing', async () => {
    const api = await start(target, producer.provider, false);
    apps.push(api);
    const tooMany = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`h${i}`, 'v']));
    // 64 headers of the caller's plus traceparent: past the limit once the tracing middleware has run.
    await expect(api.get(QueueService).enqueue('work', {}, { queue: 'traced', headers: tooMany })).rejects.toThrow('at most 64 headers per job, got 65');
    const [send] = byName(producer.spans(), 'send traced');
    expect(send!.status.code).toBe(SpanStatusCode.ERROR);
    expect((await api.get(QueueService).list({})).jobs).toEqual([]);
  });
});
