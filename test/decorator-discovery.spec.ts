import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { Processor } from '../lib/index.js';
import { PROCESSOR_METADATA } from '../lib/nest/jobs.constants.js';
import { closeAppsAfterEach, queueOf, runtimeOf, startApp } from './fixtures/app.js';
import { EmailAppModule, EmailModule, Mailer, ReceiptProcessor, SendWelcome } from './fixtures/email.fixture.js';

describe('@Processor / @Job discovery', () => {
  closeAppsAfterEach();

  it("@Processor('email') writes the same metadata as @Processor({ queue: 'email' })", () => {
    @Processor('email')
    class A {}
    @Processor({ queue: 'email' })
    class B {}
    expect(Reflect.getMetadata(PROCESSOR_METADATA, A)).toEqual({ queue: 'email' });
    expect(Reflect.getMetadata(PROCESSOR_METADATA, B)).toEqual(Reflect.getMetadata(PROCESSOR_METADATA, A));
  });

  it('registers handlers of processors in an imported feature module, each on its queue', async () => {
    const app = await startApp({ imports: [EmailAppModule.register()] });
    const registry = runtimeOf(app).registry;
    expect(registry.names().sort()).toEqual(['audit', 'send-receipt', 'send-welcome']);
    expect(registry.get('send-welcome')).toMatchObject({ queue: 'email', owner: 'EmailProcessor.sendWelcome' });
    expect(registry.get('send-receipt')).toMatchObject({ queue: 'email', owner: 'ReceiptProcessor.sendReceipt' });
    expect(registry.get('audit')).toMatchObject({ queue: 'default' });

    const queue = queueOf(app);
    const a = await queue.enqueue('send-welcome', { userId: 'u1' });
    const b = await queue.enqueue('send-receipt', { orderId: 'o1' });
    const c = await queue.enqueue('audit', {});
    await queue.onIdle();
    expect((await queue.getJob(a.id))?.queue).toBe('email');
    expect((await queue.getJob(b.id))?.queue).toBe('email');
    expect((await queue.getJob(c.id))?.queue).toBe('default');
    expect(app.get(Mailer).sent.sort()).toEqual(['audit', 'receipt:o1', 'welcome:u1']);
  });

  it('accepts a defineJob token in @Job and in enqueue, interchangeable with its name', async () => {
    const app = await startApp({ imports: [EmailAppModule.register()] });
    const queue = queueOf(app);
    const byToken = await queue.enqueue(SendWelcome, { userId: 'token' });
    const byName = await queue.enqueue('send-welcome', { userId: 'name' });
    await queue.onIdle();
    expect(app.get(Mailer).sent.sort()).toEqual(['welcome:name', 'welcome:token']);
    expect(await queue.getJob(byToken.id)).toMatchObject({ name: 'send-welcome', state: 'completed', result: { sent: true } });
    expect(await queue.getJob(byName.id)).toMatchObject({ name: 'send-welcome', state: 'completed' });
  });

  it('gives a @Processor without @Injectable() its constructor dependencies (DI state)', async () => {
    const app = await startApp({ imports: [EmailAppModule.register()] });
    const processor = app.select(EmailModule).get(ReceiptProcessor);
    expect(processor.mailer).toBeInstanceOf(Mailer);
    expect(processor.mailer).toBe(app.get(Mailer));
    await queueOf(app).enqueue('send-receipt', { orderId: 'o2' });
    await queueOf(app).onIdle();
    expect(app.get(Mailer).sent).toEqual(['receipt:o2']);
  });

  it('passes the payload and a JobContext (id, name, queue, attempt, maxAttempts, signal, progress)', async () => {
    const app = await startApp({ imports: [EmailAppModule.register({ maxRetries: 2 })] });
    const { id } = await queueOf(app).enqueue(SendWelcome, { userId: 'ctx' });
    await queueOf(app).onIdle();
    const [ctx] = app.get(Mailer).contexts;
    expect(ctx).toMatchObject({ id, name: 'send-welcome', queue: 'email', attempt: 1, maxAttempts: 3 });
    expect(ctx!.signal).toBeInstanceOf(AbortSignal);
    expect(ctx!.signal.aborted).toBe(false);
    expect(typeof ctx!.progress).toBe('function');
  });
});
