import { Logger } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import { systemClock } from '../core/clock.js';
import type { EngineLogger } from '../core/engine-options.js';
import { JobsRuntime } from '../core/jobs-runtime.js';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { JobsError } from '../errors/jobs.error.js';
import { StorageUnavailableError } from '../errors/storage-unavailable.error.js';
import type { JobsModuleOptions } from './interfaces/jobs-module-options.interface.js';
import { dataSourceNotAvailable } from './jobs.messages.js';
import { resolveSettings } from '../core/settings.js';
import { createStorage } from '../storage/create-storage.js';

const silent: EngineLogger = { log: () => undefined, warn: () => undefined, error: () => undefined };

/** Builds and connects this instance's runtime from the module options. */
export async function createJobsRuntime(options: JobsModuleOptions, moduleRef: ModuleRef, dataSource: unknown): Promise<JobsRuntime> {
  // `storage` is read here (createStorage checks its own keys), `middleware` by the explorer; the rest is the core's.
  const settings = resolveSettings(options, ['storage', 'middleware']);
  const clock = options.clock ?? systemClock;
  const logger = options.logger === false ? silent : options.logger ?? new Logger('Jobs');
  // forRoot's `dataSourceToken` arrives injected; a forRootAsync factory's is looked up now.
  const storage = await createStorage(options.storage, clock, (token) => dataSource ?? lookUpDataSource(moduleRef, token));
  try {
    await storage.init();
  } catch (err) {
    if (err instanceof JobsError) throw err;
    throw new StorageUnavailableError('could not connect or prepare the jobs schema', err);
  }
  return new JobsRuntime(storage, settings, logger, clock);
}

function lookUpDataSource(moduleRef: ModuleRef, token: string | symbol | Function): unknown {
  let found: unknown;
  try {
    found = moduleRef.get(token, { strict: false });
  } catch {
    found = undefined; // no such provider
  }
  // A provider that exists but is not created yet (an async factory still running) reads as undefined.
  if (found === undefined || found === null) throw new InvalidOptionsError('storage.dataSourceToken', dataSourceNotAvailable(token));
  return found;
}
