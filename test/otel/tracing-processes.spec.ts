import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { context, propagation, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobsModule, QueueService } from '../../lib/index.js';
import { JobsTelemetryModule } from '../../lib/otel/index.js';
import { freshSqliteFile } from '../support/databases.js';
import type { SpanRecord } from './traced-worker-main.js';

/** The compiled worker (npm test compiles with tsc before running vitest). */
const WORKER_JS = fileURLToPath(new URL('../../dist/test/otel/traced-worker-main.js', import.meta.url));

describe('OpenTelemetry traces across processes', () => {
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });
  afterAll(() => {
    context.disable();
    propagation.disable();
  });

  it('a job enqueued here and run (twice: a retry) in another process yields one trace: the producer span parents both consumer spans', async () => {
    if (!existsSync(WORKER_JS)) throw new Error(`${WORKER_JS} is missing: run 'npx tsc -p tsconfig.json' first (npm test does).`);
    const sqlite = freshSqliteFile();
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const child = fork(WORKER_JS, [], { env: { ...process.env, JOBS_OTEL: JSON.stringify({ database: sqlite.file }) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let app: INestApplication | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`traced worker exited with ${code} before it was ready`)));
        child.on('message', (msg) => msg === 'ready' && resolve());
      });
      const mod = await Test.createTestingModule({
        imports: [
          JobsModule.forRoot({ storage: { type: 'sqlite', database: sqlite.file }, workers: false, logger: false }),
          JobsTelemetryModule.forRoot({ tracerProvider: provider, tracerName: 'api' }),
        ],
      }).compile();
      app = mod.createNestApplication({ logger: false });
      await app.init();
      const queue = app.get(QueueService);
      const { id } = await queue.enqueue('cross-flaky', {}, { queue: 'cross' });
      expect(await queue.waitFor(id, { timeoutMs: 20_000 })).toBe(`ran in ${child.pid}`);

      const spans = await new Promise<SpanRecord[]>((resolve) => {
        child.on('message', (msg) => typeof msg === 'object' && resolve((msg as { spans: SpanRecord[] }).spans));
        child.send('stop');
      });
      const [send] = exporter.getFinishedSpans().filter((s) => s.name === 'send cross');
      expect(send!.kind).toBe(SpanKind.PRODUCER);
      expect(send!.instrumentationScope.name).toBe('api');
      const consumers = spans.filter((s) => s.name === 'process cross').sort((a, b) => Number(a.attributes['job.attempt']) - Number(b.attributes['job.attempt']));
      expect(consumers.map((s) => [s.kind, s.traceId, s.parentSpanId, s.attributes['job.attempt'], s.attributes['messaging.message.id']])).toEqual([
        [SpanKind.CONSUMER, send!.spanContext().traceId, send!.spanContext().spanId, 1, id],
        [SpanKind.CONSUMER, send!.spanContext().traceId, send!.spanContext().spanId, 2, id],
      ]);
      expect(consumers[0]!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'fails once' });
      expect(consumers[0]!.events).toEqual(['exception']);
      expect(consumers[1]!.status.code).toBe(SpanStatusCode.UNSET);
      const handlers = spans.filter((s) => s.name === 'handler work');
      expect(handlers.map((h) => h.parentSpanId).sort()).toEqual(consumers.map((c) => c.spanId).sort());
    } finally {
      await app?.close();
      if (child.exitCode === null) child.kill('SIGKILL');
      await sqlite.remove();
    }
  });
});
