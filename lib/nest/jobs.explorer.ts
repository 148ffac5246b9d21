import { Inject, Injectable, Optional, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModuleRef } from '@nestjs/core';
import { resolveHandler } from '../core/handler-options.js';
import type { JobsRuntime } from '../core/jobs-runtime.js';
import type { JobMiddleware } from '../core/middleware.js';
import { ProcessorDefinitionError } from '../errors/processor-definition.error.js';
import { JobsMetadataAccessor } from './jobs-metadata.accessor.js';
import { resolveListedMiddleware } from './jobs-middleware.resolver.js';
import { JOBS_RUNTIME } from './jobs.constants.js';
import { JOBS_MODULE_OPTIONS } from './jobs.module-definition.js';
import { jobOutsideProcessor, requestScopedMiddleware, requestScopedProcessor } from './jobs.messages.js';
import type { JobsModuleOptions } from './interfaces/jobs-module-options.interface.js';

type InstanceWrapper = ReturnType<DiscoveryService['getProviders']>[number];

/**
 * Finds `@Processor` providers at bootstrap and registers each `@Job` method as a handler,
 * and installs the job middleware: `@GlobalJobMiddleware()` providers first (outermost), then
 * the module's `middleware` option. It only discovers: the metadata accessor reads the
 * decorators, the core's `resolveHandler` checks the options.
 */
@Injectable()
export class JobsExplorer implements OnModuleInit {
  private explored = false;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly metadata: JobsMetadataAccessor,
    @Inject(JOBS_RUNTIME) private readonly runtime: JobsRuntime,
    // Absent under JobsTestingModule.forRoot() alone (it has no app options, so no listed middleware).
    @Optional() @Inject(JOBS_MODULE_OPTIONS) private readonly options: JobsModuleOptions | null,
    private readonly moduleRef: ModuleRef,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.explored) return;
    this.explored = true;
    const global: JobMiddleware[] = [];
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      this.explore(wrapper);
      const mw = this.globalMiddleware(wrapper);
      if (mw) global.push(mw);
    }
    this.runtime.middleware.add(global, '@GlobalJobMiddleware providers');
    this.runtime.middleware.add(await resolveListedMiddleware(this.options?.middleware, this.moduleRef));
  }

  private globalMiddleware(wrapper: InstanceWrapper): JobMiddleware | null {
    const metatype = wrapper.metatype as Function | undefined;
    if (!metatype || !this.metadata.isGlobalMiddleware(metatype)) return null;
    if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient) throw new ProcessorDefinitionError(requestScopedMiddleware(metatype.name));
    return (wrapper.instance as JobMiddleware | undefined) ?? null;
  }

  private explore(wrapper: InstanceWrapper): void {
    const metatype = wrapper.metatype as (Function & { prototype: object }) | undefined;
    if (!metatype || typeof metatype !== 'function' || !metatype.prototype) return;
    const processor = this.metadata.processorOf(metatype);
    if (!processor) {
      const jobMethods = this.metadata.jobMethodsOf(metatype);
      if (jobMethods.length) throw new ProcessorDefinitionError(jobOutsideProcessor(metatype.name, String(jobMethods[0])));
      return;
    }
    if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient) {
      throw new ProcessorDefinitionError(requestScopedProcessor(metatype.name));
    }
    const instance = wrapper.instance as Record<string, (payload: unknown, ctx: unknown) => unknown> | undefined;
    if (!instance) return;
    for (const method of this.scanner.getAllMethodNames(metatype.prototype)) {
      const fn = instance[method];
      if (typeof fn !== 'function') continue;
      const meta = this.metadata.jobOf(fn);
      if (!meta) continue;
      this.runtime.registry.register(
        resolveHandler({
          name: meta.name,
          handler: (payload, ctx) => fn.call(instance, payload, ctx),
          owner: `${metatype.name}.${method}`,
          group: `@Processor ${metatype.name}`,
          groupOptions: processor,
          options: meta.options,
          tokenDefaults: meta.tokenDefaults,
        }),
      );
    }
  }
}
