import { Controller, Module, UseGuards, type DynamicModule, type Provider, type Type } from '@nestjs/common';
import { DashboardAccessGuard } from './dashboard-access.guard.js';
import { DashboardActions } from './dashboard-actions.js';
import { DashboardApiController } from './dashboard-api.controller.js';
import { DashboardPageController } from './dashboard-page.controller.js';
import {
  JOBS_DASHBOARD_OPTIONS,
  normalizePath,
  resolveOptions,
  type JobsDashboardAsyncOptions,
  type JobsDashboardOptions,
} from './dashboard.options.js';
import { JobsDashboardEvents } from './jobs-dashboard.events.js';

/**
 * The jobs dashboard: a page and a JSON API at `path` (default `jobs`, under the app's global
 * prefix), on Express or Fastify. Closed until `guards` say who may use it. Needs
 * `JobsModule.forRoot()` in the app (it uses `QueueService`).
 */
@Module({})
export class JobsDashboardModule {
  static forRoot(options: JobsDashboardOptions = {}): DynamicModule {
    const { path, ...rest } = options ?? {};
    const resolved = resolveOptions(rest, 'JobsDashboardModule.forRoot');
    return build(normalizePath(path), { provide: JOBS_DASHBOARD_OPTIONS, useValue: resolved }, []);
  }

  /** `path` is given here; the factory gives the rest (guards, readOnly, redactPayloads). */
  static forRootAsync(options: JobsDashboardAsyncOptions): DynamicModule {
    if (typeof options?.useFactory !== 'function') {
      throw new TypeError('JobsDashboardModule.forRootAsync: expected { path?, imports?, inject?, useFactory }');
    }
    const provider: Provider = {
      provide: JOBS_DASHBOARD_OPTIONS,
      useFactory: async (...args: unknown[]) => resolveOptions(await options.useFactory(...args), 'JobsDashboardModule.forRootAsync factory'),
      inject: options.inject ?? [],
    };
    return build(normalizePath(options.path), provider, options.imports ?? []);
  }
}

function build(path: string, options: Provider, imports: NonNullable<JobsDashboardAsyncOptions['imports']>): DynamicModule {
  return {
    module: JobsDashboardModule,
    imports,
    controllers: [mounted(DashboardApiController, path), mounted(DashboardPageController, path)],
    providers: [options, DashboardAccessGuard, DashboardActions, JobsDashboardEvents],
    exports: [JobsDashboardEvents],
  };
}

/** A subclass of `base` with its routes at `path`, behind the access guard: each mount its own class. */
function mounted<T>(base: Type<T>, path: string): Type<T> {
  const named = { [base.name]: class extends (base as Type<object>) {} }[base.name] as Type<T>;
  Controller(path)(named);
  UseGuards(DashboardAccessGuard)(named);
  return named;
}
