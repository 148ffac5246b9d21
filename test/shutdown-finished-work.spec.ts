import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { Job, JobsModule, MemoryStorage, Processor, QueueService, type JobContext } from '../lib/index.js';

let started: (() => void) | null = null;

@Processor('finish')
class FinishesAnyway {
  /** On the shutdown abort it wraps up and returns normally: its work is done. */
  @Job('wrap-up')
  async wrapUp(_p: unknown, ctx: JobContext) {
    started?.();
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
    return 'wrapped up';
  }
}

describe('shutdown of a handler that finishes its work on the abort', () => {
  it('records it completed instead of handing it back (which would run the work again)', async () => {
    const storage = new MemoryStorage();
    const mod = await Test.createTestingModule({
      imports: [JobsModule.forRoot({ storage: { instance: storage }, shutdownTimeoutMs: 20, logger: false })],
      providers: [FinishesAnyway],
    }).compile();
    const app = mod.createNestApplication();
    await app.init();
    const running = new Promise<void>((resolve) => (started = resolve));
    const { id } = await app.get(QueueService).enqueue('wrap-up', {});
    await running;
    await app.close();
    expect(await storage.get(id)).toMatchObject({ state: 'completed', result: 'wrapped up', attempt: 1 });
  });
});
