import { Injectable, Module, Scope, type DynamicModule, type Provider } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { DuplicateHandlerError, Job, JobsModule, Processor, ProcessorDefinitionError, QueueService } from '../lib/index.js';
import { closeAppsAfterEach, compileApp, queueOf, runtimeOf, startApp } from './fixtures/app.js';

@Processor('email')
class EmailProcessor {
  @Job('send-welcome')
  sendWelcome() {}
}

@Processor('mail')
class MailProcessor {
  @Job('send-welcome')
  welcome() {}
}

class NotAProcessor {
  @Job('orphan')
  orphan() {}
}

@Injectable({ scope: Scope.REQUEST })
@Processor('email')
class RequestScopedProcessor {
  @Job('scoped')
  scoped() {}
}

@Injectable({ scope: Scope.REQUEST })
class RequestContext {}

@Processor('email')
class DependsOnRequest {
  constructor(readonly ctx: RequestContext) {}
  @Job('depends')
  depends() {}
}

class StartupModule {
  static with(...providers: Provider[]): DynamicModule {
    return {
      module: StartupModule,
      imports: [JobsModule.forRoot({ storage: { type: 'memory' }, logger: false })],
      providers,
    };
  }
}

describe('startup errors', () => {
  closeAppsAfterEach();

  it('refuses a job name handled twice, naming both owners', async () => {
    const app = await compileApp({ imports: [StartupModule.with(EmailProcessor, MailProcessor)] });
    const err = await app.init().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateHandlerError);
    expect((err as Error).message).toContain("'send-welcome'");
    expect((err as Error).message).toContain('EmailProcessor.sendWelcome');
    expect((err as Error).message).toContain('MailProcessor.welcome');
  });

  it('refuses @Job in a provider without @Processor', async () => {
    const app = await compileApp({ imports: [StartupModule.with(NotAProcessor)] });
    const err = await app.init().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessorDefinitionError);
    expect((err as Error).message).toMatch(/NotAProcessor\.orphan has @Job but NotAProcessor has no @Processor/);
  });

  it('refuses a request-scoped processor', async () => {
    const app = await compileApp({ imports: [StartupModule.with(RequestScopedProcessor)] });
    const err = await app.init().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessorDefinitionError);
    expect((err as Error).message).toMatch(/RequestScopedProcessor is request-scoped/);
  });

  it('refuses a processor that depends on a request-scoped provider', async () => {
    const app = await compileApp({ imports: [StartupModule.with(RequestContext, DependsOnRequest)] });
    await expect(app.init()).rejects.toThrow(/DependsOnRequest is request-scoped/);
  });
});

describe('JobsModule.forRoot() imported twice', () => {
  closeAppsAfterEach();

  const calls: string[] = [];

  @Processor('twice')
  class CountingProcessor {
    @Job('count')
    count(payload: { n: number }) {
      calls.push(String(payload.n));
    }
  }

  @Module({ imports: [JobsModule.forRoot({ storage: { type: 'memory' }, logger: false })], providers: [CountingProcessor] })
  class FeatureModule {}

  class TwiceModule {
    static register(): DynamicModule {
      return { module: TwiceModule, imports: [JobsModule.forRoot({ storage: { type: 'memory' }, logger: false }), FeatureModule] };
    }
  }

  it('registers and runs each handler once, with one shared QueueService', async () => {
    const app = await startApp({ imports: [TwiceModule.register()] });
    expect(runtimeOf(app).registry.names()).toEqual(['count']);
    expect(app.select(FeatureModule).get(QueueService)).toBe(queueOf(app));
    const queue = queueOf(app);
    for (let n = 1; n <= 5; n++) await queue.enqueue('count', { n });
    await queue.onIdle();
    expect(calls.sort()).toEqual(['1', '2', '3', '4', '5']);
  });
});
