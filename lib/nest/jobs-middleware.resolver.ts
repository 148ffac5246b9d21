import type { Type } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import type { JobMiddleware } from '../core/middleware.js';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { unresolvableMiddleware } from './jobs.messages.js';

/**
 * The module's `middleware` option as instances, in order: objects as given; a class from the
 * app's providers when a module provides it, else created by Nest with the dependencies the
 * jobs module can see.
 */
export async function resolveListedMiddleware(list: unknown, moduleRef: ModuleRef): Promise<JobMiddleware[]> {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new InvalidOptionsError('middleware', 'expected an array of job middleware objects or provider classes');
  const out: JobMiddleware[] = [];
  for (const [i, entry] of list.entries()) {
    if (typeof entry !== 'function') {
      out.push(entry as JobMiddleware);
      continue;
    }
    const cls = entry as Type<JobMiddleware>;
    let instance: JobMiddleware | undefined;
    try {
      instance = moduleRef.get(cls, { strict: false });
    } catch {
      // Not provided by any module: created below.
    }
    if (!instance) {
      try {
        instance = await moduleRef.create(cls);
      } catch (err) {
        throw new InvalidOptionsError(`middleware[${i}]`, unresolvableMiddleware(cls.name, err instanceof Error ? err.message : String(err)));
      }
    }
    out.push(instance);
  }
  return out;
}
