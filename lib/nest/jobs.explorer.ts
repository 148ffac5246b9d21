import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { resolveHandler } from '../core/handler-options.js';
import type { JobsRuntime } from '../core/jobs-runtime.js';
import { ProcessorDefinitionError } from '../errors/processor-definition.error.js';
import { JobsMetadataAccessor } from './jobs-metadata.accessor.js';
import { JOBS_RUNTIME } from './jobs.constants.js';
import { jobOutsideProcessor, requestScopedProcessor } from './jobs.messages.js';

type InstanceWrapper = ReturnType<DiscoveryService['getProviders']>[number];

/**
 * Finds `@Processor` providers at bootstrap and registers each `@Job` method as a handler.
 * It only discovers: the metadata accessor reads the decorators, the core's `resolveHandler`
 * checks the options.
 */
@Injectable()
export class JobsExplorer implements OnModuleInit {
  private explored = false;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly metadata: JobsMetadataAccessor,
    @Inject(JOBS_RUNTIME) private readonly runtime: JobsRuntime,
  ) {}

  onModuleInit(): void {
    if (this.explored) return;
    this.explored = true;
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      this.explore(wrapper);
    }
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
