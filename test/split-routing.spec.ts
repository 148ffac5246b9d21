import { Injectable, Module, type DynamicModule } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import {
  Backoff,
  defineJob,
  InvalidNameError,
  InvalidOptionsError,
  Job,
  JobsModule,
  MemoryStorage,
  Processor,
  type EngineLogger,
} from '../lib/index.js';
import { closeAppsAfterEach, compileApp, queueOf, runtimeOf, startApp } from './fixtures/app.js';

/** The token a producer codebase and a worker codebase share: name, queue and policy. */
const Resize = defineJob<{ file: string }>('resize-image', {
  queue: 'images',
  maxRetries: 1,
  backoff: Backoff.fixed(250),
  timeout: 60_000,
  priority: 5,
});

@Injectable()
class Ran {
  readonly files: string[] = [];
}

@Processor({ queue: 'images', maxRetries: 7 })
class ImageProcessor {
  constructor(private readonly ran: Ran) {}
  @Job(Resize)
  resize(payload: { file: string }) {
    this.ran.files.push(payload.file);
  }
}

/** A worker app (has the handler) or a producer app from another codebase (has none). */
class RoutingModule {
  static worker(storage: MemoryStorage): DynamicModule {
    return {
      module: RoutingModule,
      imports: [JobsModule.forRoot({ storage: { instance: storage }, logger: false, pollIntervalMs: 5 })],
      providers: [Ran, ImageProcessor],
    };
  }
  static producer(storage: MemoryStorage, logger: EngineLogger | false = false): DynamicModule {
    return { module: RoutingModule, imports: [JobsModule.forRoot({ storage: { instance: storage }, workers: false, logger })] };
  }
}

function recordingLogger(): EngineLogger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, log: () => undefined, error: () => undefined, warn: (m: string) => void warnings.push(m) };
}

describe('split deployments: producers without the handler', () => {
  closeAppsAfterEach();

  it("a defineJob token routes the job to its queue with its policy, and the workers' handler runs it", async () => {
    const storage = new MemoryStorage();
    const producer = await startApp({ imports: [RoutingModule.producer(storage)] });
    const { id } = await queueOf(producer).enqueue(Resize, { file: 'a.png' });
    expect(await storage.get(id)).toMatchObject({
      queue: 'images',
      maxAttempts: 2,
      priority: 5,
      timeoutMs: 60_000,
      backoff: { type: 'fixed', ms: 250 },
    });

    const worker = await startApp({ imports: [RoutingModule.worker(storage)] });
    await queueOf(worker).onIdle();
    expect(worker.get(Ran).files).toEqual(['a.png']);
    expect(await storage.get(id)).toMatchObject({ state: 'completed' });
  });

  it("the call's options still win over the token's", async () => {
    const storage = new MemoryStorage();
    const producer = await startApp({ imports: [RoutingModule.producer(storage)] });
    const { id } = await queueOf(producer).enqueue(Resize, { file: 'b.png' }, { queue: 'images-bulk', maxRetries: 0, priority: 9 });
    expect(await storage.get(id)).toMatchObject({ queue: 'images-bulk', maxAttempts: 1, priority: 9 });
  });

  it('a plain name with no handler here and no queue is warned about once per name, and goes to the default queue', async () => {
    const storage = new MemoryStorage();
    const logger = recordingLogger();
    const producer = await startApp({ imports: [RoutingModule.producer(storage, logger)] });
    const first = await queueOf(producer).enqueue('resize-image', { file: 'c.png' });
    await queueOf(producer).enqueue('resize-image', { file: 'd.png' });
    await queueOf(producer).enqueue('resize-image', { file: 'e.png' }, { queue: 'images' });
    await queueOf(producer).enqueue(Resize, { file: 'f.png' });
    expect(await storage.get(first.id)).toMatchObject({ queue: 'default' });
    const about = logger.warnings.filter((w) => w.includes("'resize-image'"));
    expect(about).toHaveLength(1);
    expect(about[0]).toMatch(/no handler on this instance and no queue was named: it goes to queue 'default'/);
    expect(about[0]).toMatch(/defineJob\('resize-image', \{ queue, maxRetries, … \}\)/);
  });

  it("a @Job(token) handler takes the token's policy over its processor's, and its queue", async () => {
    const worker = await startApp({ imports: [RoutingModule.worker(new MemoryStorage())] });
    const def = runtimeOf(worker).registry.get('resize-image');
    expect(def).toMatchObject({ queue: 'images', timeoutMs: 60_000, priority: 5 });
    expect(def?.maxRetries?.maxAttempts).toBe(2);
    expect(def?.backoff?.spec).toEqual({ type: 'fixed', ms: 250 });
  });

  it("a @Job(token) in a @Processor that names no queue takes the token's", async () => {
    @Processor()
    class AnyQueueProcessor {
      @Job(Resize)
      resize() {}
    }
    @Module({ imports: [JobsModule.forRoot({ storage: { type: 'memory' }, logger: false })], providers: [AnyQueueProcessor] })
    class AnyQueueModule {}
    const app = await startApp({ imports: [AnyQueueModule] });
    expect(runtimeOf(app).registry.get('resize-image')?.queue).toBe('images');
  });

  it('a @Job(token) in a @Processor of another queue is a start-up error naming both queues', async () => {
    @Processor('thumbnails')
    class WrongQueueProcessor {
      @Job(Resize)
      resize() {}
    }
    @Module({ imports: [JobsModule.forRoot({ storage: { type: 'memory' }, logger: false })], providers: [WrongQueueProcessor] })
    class WrongQueueModule {}
    const app = await compileApp({ imports: [WrongQueueModule] });
    const failure = app.init();
    await expect(failure).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(failure).rejects.toThrow(/queue: 'images'.*'thumbnails'.*Make them agree/);
  });

  it('defineJob checks its options when the token is made', () => {
    expect(() => defineJob('x', { queue: 'no spaces' })).toThrow(InvalidNameError);
    expect(() => defineJob('x', { timeout: -1 })).toThrow(InvalidOptionsError);
    expect(() => defineJob('x', { priority: 1.5 })).toThrow(InvalidOptionsError);
    expect(() => defineJob('x', { maxRetries: -2 })).toThrow(InvalidOptionsError);
  });
});
