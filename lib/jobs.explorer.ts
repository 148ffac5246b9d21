import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { HandlerDefinition } from './core/handler-registry.js';
import type { JobsRuntime } from './core/jobs-runtime.js';
import { parseSchedule } from './core/schedule-spec.js';
import { InvalidOptionsError } from './errors/invalid-options.error.js';
import { toBackoff, toMaxRetries, checkMs } from './core/retry-policy.js';
import { assertInt, assertName } from './core/validation.js';
import type { JobMetadata } from './decorators/job.decorator.js';
import type { ProcessorOptions } from './decorators/processor.decorator.js';
import { ProcessorDefinitionError } from './errors/processor-definition.error.js';
import { DEFAULT_QUEUE, JOB_METADATA, JOB_METHODS_METADATA, JOBS_RUNTIME, PROCESSOR_METADATA } from './jobs.constants.js';
import { jobOutsideProcessor, requestScopedProcessor } from './jobs.messages.js';

function scheduleOf(o: JobMetadata['options'], where: string): Pick<HandlerDefinition, 'schedule' | 'missedTicks'> {
  if (o.cron === undefined && o.every === undefined) {
    if (o.timezone !== undefined) throw new InvalidOptionsError(`timezone of ${where}`, 'goes with `cron`');
    return {};
  }
  if (o.missedTicks !== undefined && o.missedTicks !== 'run-once' && o.missedTicks !== 'skip') {
    throw new InvalidOptionsError(`missedTicks of ${where}`, "expected 'run-once' or 'skip'");
  }
  return { schedule: parseSchedule(o, `schedule of ${where}`), missedTicks: o.missedTicks };
}

type InstanceWrapper = ReturnType<DiscoveryService['getProviders']>[number];

/** Finds `@Processor` providers at bootstrap and registers each `@Job` method as a handler. */
@Injectable()
export class JobsExplorer implements OnModuleInit {
  private explored = false;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
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
    const processor = Reflect.getMetadata(PROCESSOR_METADATA, metatype) as ProcessorOptions | undefined;
    const jobMethods = Reflect.getMetadata(JOB_METHODS_METADATA, metatype) as (string | symbol)[] | undefined;
    if (!processor) {
      if (jobMethods?.length) throw new ProcessorDefinitionError(jobOutsideProcessor(metatype.name, String(jobMethods[0])));
      return;
    }
    if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient) {
      throw new ProcessorDefinitionError(requestScopedProcessor(metatype.name));
    }
    const instance = wrapper.instance as Record<string, (payload: unknown, ctx: unknown) => unknown> | undefined;
    if (!instance) return;
    const queue = assertName(`queue name of @Processor ${metatype.name}`, processor.queue ?? DEFAULT_QUEUE);
    const where = (m: string) => `${metatype.name}.${m}`;
    for (const method of this.scanner.getAllMethodNames(metatype.prototype)) {
      const fn = instance[method];
      if (typeof fn !== 'function') continue;
      const meta = Reflect.getMetadata(JOB_METADATA, fn) as JobMetadata | undefined;
      if (!meta) continue;
      const o = meta.options;
      const timeout = o.timeout ?? processor.timeout;
      const maxRetries = o.maxRetries ?? processor.maxRetries;
      const backoff = o.backoff ?? processor.backoff;
      this.runtime.registry.register({
        name: assertName(`job name of ${where(method)}`, meta.name),
        queue,
        owner: where(method),
        handler: (payload, ctx) => fn.call(instance, payload, ctx),
        // `!== undefined`, not truthiness: `maxRetries: 0` and `backoff: 0` are real settings.
        maxRetries: maxRetries === undefined ? undefined : toMaxRetries(maxRetries),
        backoff: backoff === undefined ? undefined : toBackoff(backoff),
        timeoutMs: timeout === undefined ? undefined : checkMs(`timeout of ${where(method)}`, timeout),
        priority: o.priority === undefined ? undefined : assertInt(`priority of ${where(method)}`, o.priority, -1_000_000, 1_000_000),
        schema: o.schema,
        transactional: o.transaction === true,
        ...scheduleOf(o, where(method)),
      });
    }
  }
}
