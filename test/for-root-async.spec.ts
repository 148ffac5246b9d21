import { Injectable, Module, type DynamicModule, type Type } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { Job, JobsModule, MemoryStorage, Processor, type JobsModuleOptions } from '../lib/index.js';
import { closeAppsAfterEach, queueOf, runtimeOf, startApp } from './fixtures/app.js';

/** Stands in for an app's config service: the options come from it, asynchronously. */
@Injectable()
class JobsConfig {
  readonly storage = new MemoryStorage();
  async options(): Promise<JobsModuleOptions> {
    await Promise.resolve();
    return { storage: { instance: this.storage }, logger: false, queues: { async: { concurrency: 3 } } };
  }
}

@Module({ providers: [JobsConfig], exports: [JobsConfig] })
class ConfigModule {}

/** For `useClass`: Nest instantiates it inside the jobs module and calls `createJobsOptions()`. */
@Injectable()
class JobsOptionsFactory {
  static readonly storage = new MemoryStorage();
  createJobsOptions(): JobsModuleOptions {
    return { storage: { instance: JobsOptionsFactory.storage }, logger: false, queues: { async: { concurrency: 2 } } };
  }
}

/** For `useExisting`: an options factory the app already provides (and exports) elsewhere. */
@Injectable()
class ExistingOptionsFactory {
  readonly storage = new MemoryStorage();
  createJobsOptions(): JobsModuleOptions {
    return { storage: { instance: this.storage }, logger: false, queues: { async: { concurrency: 4 } } };
  }
}

@Module({ providers: [ExistingOptionsFactory], exports: [ExistingOptionsFactory] })
class ExistingModule {}

const ran: string[] = [];

@Processor('async')
class AsyncProcessor {
  @Job('async-job')
  run(payload: { tag: string }) {
    ran.push(payload.tag);
  }
}

class AsyncAppModule {
  static useFactory(): DynamicModule {
    return AsyncAppModule.with(
      JobsModule.forRootAsync({ imports: [ConfigModule], inject: [JobsConfig], useFactory: (config: JobsConfig) => config.options() }),
      ConfigModule,
    );
  }

  static useClass(): DynamicModule {
    return AsyncAppModule.with(JobsModule.forRootAsync({ useClass: JobsOptionsFactory }));
  }

  static useExisting(): DynamicModule {
    return AsyncAppModule.with(JobsModule.forRootAsync({ imports: [ExistingModule], useExisting: ExistingOptionsFactory }), ExistingModule);
  }

  private static with(jobs: DynamicModule, ...imports: Type[]): DynamicModule {
    return { module: AsyncAppModule, imports: [jobs, ...imports], providers: [AsyncProcessor] };
  }
}

describe('JobsModule.forRootAsync', () => {
  closeAppsAfterEach();

  it('useFactory + inject + imports: the factory result configures storage and queues', async () => {
    const app = await startApp({ imports: [AsyncAppModule.useFactory()] });
    const storage = app.get(JobsConfig).storage;
    expect(runtimeOf(app).storage).toBe(storage);
    expect(runtimeOf(app).settings.queues.async).toMatchObject({ concurrency: 3 });
    const { id } = await queueOf(app).enqueue('async-job', { tag: 'factory' });
    await queueOf(app).onIdle();
    expect((await storage.get(id))?.state).toBe('completed');
    expect(ran).toContain('factory');
  });

  it('useClass: the class is instantiated and its createJobsOptions() used', async () => {
    const app = await startApp({ imports: [AsyncAppModule.useClass()] });
    expect(runtimeOf(app).storage).toBe(JobsOptionsFactory.storage);
    expect(runtimeOf(app).settings.queues.async).toMatchObject({ concurrency: 2 });
    const { id } = await queueOf(app).enqueue('async-job', { tag: 'class' });
    await queueOf(app).onIdle();
    expect((await JobsOptionsFactory.storage.get(id))?.state).toBe('completed');
  });

  it('useExisting: the already-provided factory instance is used', async () => {
    const app = await startApp({ imports: [AsyncAppModule.useExisting()] });
    const factory = app.get(ExistingOptionsFactory);
    expect(runtimeOf(app).storage).toBe(factory.storage);
    expect(runtimeOf(app).settings.queues.async).toMatchObject({ concurrency: 4 });
    const { id } = await queueOf(app).enqueue('async-job', { tag: 'existing' });
    await queueOf(app).onIdle();
    expect((await factory.storage.get(id))?.state).toBe('completed');
  });
});
